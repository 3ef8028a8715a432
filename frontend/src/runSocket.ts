/**
 * The runs WebSocket of one app (daphne, /ws/apps/<id>/runs/): Run It!'s live log lines and
 * Stop. Opened on the first run and kept for the page; when it cannot be reached, runs
 * still work, with their logs in the answer and no Stop.
 */
import { parseRunMessage, runsSocketUrl, type RunMessage } from "./liveRun";

/** How long a run waits for the socket to watch it before it starts without. */
const WATCH_WAIT_MS = 2000;

type Listener = (message: RunMessage) => void;

export class RunSocket {
  private readonly url: string;
  private ws: WebSocket | null = null;
  private opening: Promise<WebSocket | null> | null = null;
  private readonly listeners = new Map<string, Listener>();
  private readonly acks = new Map<string, (ok: boolean) => void>();
  /** Why the server refused this socket (not signed in, not on this app), once it did. */
  refused: string | null = null;
  private lastError: string | null = null;

  constructor(appId: string | number) {
    const meta = document.querySelector<HTMLMetaElement>('meta[name="kiln-ws-url"]');
    this.url = runsSocketUrl(appId, meta?.content || null, window.location);
  }

  /** Watch `runId`: true once the server watches it for us, false when it cannot. */
  async watch(runId: string, listener: Listener): Promise<boolean> {
    const ws = await this.open();
    if (!ws) return false;
    this.listeners.set(runId, listener);
    const acked = new Promise<boolean>((resolve) => {
      this.acks.set(runId, resolve);
      window.setTimeout(() => this.settle(runId, false), WATCH_WAIT_MS);
    });
    ws.send(JSON.stringify({ watch: runId }));
    const ok = await acked;
    if (!ok) this.listeners.delete(runId);
    return ok;
  }

  unwatch(runId: string): void {
    this.listeners.delete(runId);
    this.settle(runId, false);
  }

  /** Ask the server to stop `runId`; false when the socket is not open. */
  stop(runId: string): boolean {
    if (this.ws?.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify({ stop: runId }));
    return true;
  }

  close(): void {
    this.ws?.close();
    this.ws = null;
  }

  private settle(runId: string, ok: boolean): void {
    const resolve = this.acks.get(runId);
    if (!resolve) return;
    this.acks.delete(runId);
    resolve(ok);
  }

  private open(): Promise<WebSocket | null> {
    if (this.ws?.readyState === WebSocket.OPEN) return Promise.resolve(this.ws);
    if (this.refused) return Promise.resolve(null);
    if (this.opening) return this.opening;
    this.opening = new Promise<WebSocket | null>((resolve) => {
      let ws: WebSocket;
      try {
        ws = new WebSocket(this.url);
      } catch {
        resolve(null);
        return;
      }
      const timer = window.setTimeout(() => {
        ws.close();
        resolve(null);
      }, WATCH_WAIT_MS);
      ws.addEventListener("open", () => {
        window.clearTimeout(timer);
        this.ws = ws;
        resolve(ws);
      });
      ws.addEventListener("message", (event: MessageEvent) => this.receive(event.data));
      ws.addEventListener("close", (event: CloseEvent) => {
        window.clearTimeout(timer);
        if (event.code === 4401 || event.code === 4403) {
          this.refused = this.lastError ?? "The server refused the live connection.";
        }
        if (this.ws === ws) this.ws = null;
        for (const runId of [...this.acks.keys()]) this.settle(runId, false);
        resolve(null);
      });
    }).finally(() => {
      this.opening = null;
    });
    return this.opening;
  }

  private receive(data: unknown): void {
    const message = parseRunMessage(data);
    if (!message) return;
    if (message.kind === "error") {
      // Either the reason of a refusal (the socket closes next) or about a bad request
      // of ours, which only a pending watch can have sent.
      this.lastError = message.message;
      for (const runId of [...this.acks.keys()]) this.settle(runId, false);
      return;
    }
    if (message.kind === "watching") this.settle(message.run, true);
    this.listeners.get(message.run)?.(message);
    if (message.kind === "ended") this.listeners.delete(message.run);
  }
}
