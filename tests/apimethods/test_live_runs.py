"""Run It! live: log lines reach the console's WebSocket while the run goes on, and Stop
ends a run in whichever web process runs it — through real gunicorn (Kiln's worker) and
daphne processes and the real Redis channel layer."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest
import requests
from django.test import Client
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from console.apps import services as app_services
from console.apps.models import App
from console.tables import services as table_services
from console.tables.isolation import app_cursor
from console.tables.models import Table
from tests.fixtures.accounts import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = "http://127.0.0.1"
LOG_THEN_SPIN = "K.log('before', {n: 1}); var t = Date.now(); while (Date.now() - t < 1500) {} K.log('after'); K.setResponse('done');"


@pytest.fixture
def posts(app: App) -> Table:
    app_services.set_platform_flags(app, kscript_enabled=True)
    table = table_services.create_table(app, "posts")
    table_services.add_field(table, "title", "string")
    return table


def signed_in(base: str, username: str) -> requests.Session:
    """A console session over real HTTP (session cookie + CSRF header), as the browser has."""
    session = requests.Session()
    session.get(f"{base}/api/auth/me/", timeout=30)
    answer = session.post(
        f"{base}/api/auth/login/",
        json={"username": username, "password": PASSWORD},
        headers={"X-CSRFToken": session.cookies["csrftoken"]},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    session.headers["X-CSRFToken"] = session.cookies["csrftoken"]
    return session


def runs_socket(ws_base: str, app_id: int, session: requests.Session | str | None) -> ClientConnection:
    """The console's runs socket of the app; `session`: whose session cookie it sends."""
    sessionid = session.cookies["sessionid"] if isinstance(session, requests.Session) else session
    cookie = {"Cookie": f"sessionid={sessionid}"} if sessionid else None
    return connect(f"{ws_base}/ws/apps/{app_id}/runs/", origin=ORIGIN, additional_headers=cookie)


def ask(ws: ClientConnection, message: Any) -> dict[str, Any]:
    ws.send(json.dumps(message))
    return dict(json.loads(ws.recv(timeout=30)))


def new_method(session: requests.Session, base: str, app: App, code: str, title: str = "") -> int:
    body = {"title": title or f"m{uuid.uuid4().hex[:6]}", "return_type": "objects", "params": [], "code": code}
    answer = session.post(f"{base}/api/apps/{app.id}/kscripts/", json=body, timeout=30)
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def start_run(
    pool: ThreadPoolExecutor, session: requests.Session, base: str, app: App, method_id: int, run_id: str | None
) -> Future[requests.Response]:
    body: dict[str, Any] = {"params": {}}
    if run_id is not None:
        body["run_id"] = run_id
    url = f"{base}/api/apps/{app.id}/kscripts/{method_id}/run/"
    return pool.submit(lambda: session.post(url, json=body, timeout=60))


def next_message(ws: ClientConnection) -> dict[str, Any]:
    return dict(json.loads(ws.recv(timeout=30)))


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(2) as executor:
        yield executor


def test_log_lines_arrive_while_the_run_still_goes_on(
    app: App,
    posts: Table,
    owner: Any,
    kiln_server: Callable[..., str],
    daphne_on_test_db: str,
    pool: ThreadPoolExecutor,
) -> None:
    base = kiln_server()
    session = signed_in(base, owner.username)
    method_id = new_method(session, base, app, LOG_THEN_SPIN, title="logThenSpin")
    run_id = uuid.uuid4().hex
    with runs_socket(daphne_on_test_db, app.id, session) as ws:
        assert ask(ws, {"watch": run_id}) == {"watching": run_id}
        running = start_run(pool, session, base, app, method_id, run_id)
        first = next_message(ws)
        # The run busy-waits 1.5 s after its first line: the line came while it ran.
        assert not running.done()
        assert first == {
            "run": run_id,
            "logs": [{"level": "log", "args": ["before", {"n": 1}], "line": 1, "script": "logThenSpin"}],
        }
        rest = [next_message(ws), next_message(ws)]
        answer = running.result().json()
    assert rest == [{"run": run_id, "logs": [{**first["logs"][0], "args": ["after"]}]}, {"run": run_id, "ended": True}]
    assert (answer["ok"], answer["result"]) == (True, "done")
    assert [entry["args"] for entry in answer["logs"]] == [["before", {"n": 1}], ["after"]]


def test_stop_ends_an_endless_run_within_a_second_and_rolls_its_insert_back(
    app: App,
    posts: Table,
    owner: Any,
    kiln_server: Callable[..., str],
    daphne_on_test_db: str,
    pool: ThreadPoolExecutor,
) -> None:
    base = kiln_server(workers=2)  # the socket cannot know which process runs it
    session = signed_in(base, owner.username)
    code = f"K.query('INSERT INTO {posts.alias} (title) VALUES (?)', ['ghost']); K.log('inserted'); while (true) {{}}"
    method_id = new_method(session, base, app, code)
    run_id = uuid.uuid4().hex
    with runs_socket(daphne_on_test_db, app.id, session) as ws:
        assert ask(ws, {"watch": run_id}) == {"watching": run_id}
        running = start_run(pool, session, base, app, method_id, run_id)
        assert next_message(ws)["logs"][0]["args"] == ["inserted"]
        asked = time.monotonic()
        assert ask(ws, {"stop": run_id}) == {"stopping": run_id}
        answer = running.result().json()
        took = time.monotonic() - asked
        assert next_message(ws) == {"run": run_id, "ended": True}
    assert took < 1.0
    assert answer["ok"] is False
    assert answer["error"] == {"type": "ScriptStopped", "message": f"Stopped by {owner.username}"}
    assert [entry["args"] for entry in answer["logs"]] == [["inserted"]]
    with app_cursor(app.id, atomic=False) as cur:
        cur.execute("SELECT count(*) FROM posts")
        assert cur.fetchone()[0] == 0


def test_a_stopped_run_frees_its_apps_slot_at_once(
    app: App,
    posts: Table,
    member: Any,
    kiln_server: Callable[..., str],
    daphne_on_test_db: str,
    pool: ThreadPoolExecutor,
) -> None:
    # One console run per app at a time, nobody waiting: a second is refused while the first runs.
    base = kiln_server(KILN_CONSOLE_APP_CONCURRENCY="1", KILN_APP_QUEUE="0")
    session = signed_in(base, member.username)
    endless = new_method(session, base, app, "K.log('spinning'); while (true) {}")
    quick = new_method(session, base, app, "K.setResponse(42);")
    run_id = uuid.uuid4().hex
    with runs_socket(daphne_on_test_db, app.id, session) as ws:
        assert ask(ws, {"watch": run_id}) == {"watching": run_id}
        running = start_run(pool, session, base, app, endless, run_id)
        assert next_message(ws)["logs"][0]["args"] == ["spinning"]
        refused = start_run(pool, session, base, app, quick, None).result()
        ask(ws, {"stop": run_id})
        stopped = running.result().json()
    admitted = start_run(pool, session, base, app, quick, None).result()
    assert refused.status_code == 503
    assert stopped["error"] == {"type": "ScriptStopped", "message": f"Stopped by {member.username}"}
    assert (admitted.status_code, admitted.json()["result"]) == (200, 42)


def test_a_user_of_another_app_can_neither_watch_nor_stop(
    app: App,
    posts: Table,
    owner: Any,
    outsider: Any,
    kiln_server: Callable[..., str],
    daphne_on_test_db: str,
    pool: ThreadPoolExecutor,
) -> None:
    theirs = app_services.create_app(outsider, "Elsewhere")
    app_services.set_platform_flags(theirs, kscript_enabled=True)
    base = kiln_server()
    session, stranger = signed_in(base, owner.username), signed_in(base, outsider.username)
    method_id = new_method(session, base, app, LOG_THEN_SPIN)
    run_id = uuid.uuid4().hex

    with runs_socket(daphne_on_test_db, app.id, stranger) as ws:
        assert next_message(ws) == {"error": "No such app."}
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=30)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
    with runs_socket(daphne_on_test_db, app.id, None) as ws:
        assert next_message(ws) == {"error": "Sign in first."}
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=30)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401

    # On the socket of their own app, the same run id names nothing of the owner's app.
    with (
        runs_socket(daphne_on_test_db, theirs.id, stranger) as spy,
        runs_socket(daphne_on_test_db, app.id, session) as ws,
    ):
        assert ask(spy, {"watch": run_id}) == {"watching": run_id}
        assert ask(ws, {"watch": run_id}) == {"watching": run_id}
        running = start_run(pool, session, base, app, method_id, run_id)
        assert next_message(ws)["logs"][0]["args"] == ["before", {"n": 1}]
        assert ask(spy, {"stop": run_id}) == {"stopping": run_id}
        answer = running.result().json()
        with pytest.raises(TimeoutError):
            spy.recv(timeout=0.3)
    assert (answer["ok"], answer["result"]) == (True, "done")


BAD_MESSAGES = [
    ("not json", "this is not JSON text."),
    ("null", "one key per message."),
    ([], "one key per message."),
    ({"watch": "x1", "stop": "x2"}, "one key per message."),
    ({"kill": "abcdefgh"}, "unknown request 'kill'."),
    ({"watch": "short"}, "a run id is 8 to 64 letters, digits, - or _."),
    ({"stop": 12345678}, "a run id is 8 to 64 letters, digits, - or _."),
    ({"watch": "has spaces in it"}, "a run id is 8 to 64 letters, digits, - or _."),
]


def test_bad_messages_get_a_clear_error_and_the_socket_stays_open(
    app: App, posts: Table, owner: Any, daphne_on_test_db: str
) -> None:
    browser = Client()
    browser.force_login(owner)
    with runs_socket(daphne_on_test_db, app.id, browser.cookies["sessionid"].value) as ws:
        for message, error in BAD_MESSAGES:
            ws.send(message if isinstance(message, str) else json.dumps(message))
            assert next_message(ws) == {
                "error": 'Send {"watch": "<run id>"} or {"stop": "<run id>"} as JSON text: ' + error
            }
        assert ask(ws, {"watch": "abcdefgh"}) == {"watching": "abcdefgh"}


def test_run_it_refuses_a_malformed_run_id(app: App, posts: Table, owner: Any, client_for: Callable[..., Any]) -> None:
    client = client_for(owner)
    body = {"title": "quick", "return_type": "objects", "params": [], "code": "K.setResponse(1);"}
    method = client.post(f"/api/apps/{app.id}/kscripts/", body, format="json").json()
    url = f"/api/apps/{app.id}/kscripts/{method['id']}/run/"
    refused = client.post(url, {"params": {}, "run_id": "no good"}, format="json")
    assert (refused.status_code, refused.json()) == (400, {"run_id": ["A run id is 8 to 64 letters, digits, - or _."]})
    watched = client.post(url, {"params": {}, "run_id": uuid.uuid4().hex}, format="json").json()
    assert (watched["ok"], watched["result"]) == (True, 1)
