"""How Kiln serves HTTP: a gunicorn worker of its own (`console.serving.worker.KilnWorker`).

gunicorn still manages the processes (forking, restarting, signals, the listening
socket); inside each process:

- one **event loop** thread owns every socket. It accepts connections, reads requests
  without blocking and buffers each one completely (headers, then the body, chunked
  bodies decoded) before any application code sees it, so a slow or stalled client only
  ever costs a buffer and a timer; idle kept-alive connections cost the same;
- complete requests go to a **lane** (`lanes.py`): the client API and the console each
  have their own thread pool, and within a lane every tenant (an app, by API key or
  console URL) may run only a few requests at once — the rest wait briefly in a queue
  of their own and are then refused with the protocol's busy answer;
- a lane thread runs the WSGI application and writes the response itself when the
  socket takes it at once (the usual case), then hands a kept-alive connection straight
  back to the loop's selector; whatever the socket does not take is written by the loop
  as the client reads it.

`connection.py` holds the per-connection parsing and response framing, `worker.py` the
loop and the gunicorn glue. See docs/decisions.md ("Serving model").
"""
