/** The websocket of one image (docs/interactive-protocol.md, types in messages.ts), reconnecting with backoff when it drops. */

import { type ClientMessage, parseServerMessage, type ReadyMessage, type ServerMessage } from "./messages";

export interface SocketHost {
  opened(ready: ReadyMessage): void; // after `ready`: resume the object under way
  message(msg: ServerMessage): void; // every other message
  closed(code: number): void;
}

export class AnnotateSocket {
  private ws: WebSocket | null = null;
  private retryMs = 500;
  private stopped = false;
  ready = false;

  constructor(
    private readonly url: string,
    private readonly host: SocketHost,
  ) {}

  connect(): void {
    this.stopped = false;
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.onmessage = (event) => {
      const msg = typeof event.data === "string" ? parseServerMessage(event.data) : null;
      if (!msg) return;
      if (msg.type !== "ready") return this.host.message(msg);
      this.ready = true;
      this.retryMs = 500;
      this.host.opened(msg);
    };
    ws.onclose = (event) => {
      if (this.ws !== ws) return;
      this.ready = false;
      this.ws = null;
      this.host.closed(event.code);
      // 4401/4403/4404: refused — retrying cannot help until the person logs in again.
      if (!this.stopped && event.code < 4400) {
        setTimeout(() => this.connect(), this.retryMs);
        this.retryMs = Math.min(8000, this.retryMs * 2);
      }
    };
  }

  send(msg: ClientMessage): boolean {
    if (!this.ws || !this.ready || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  get open(): boolean {
    return this.ready && this.ws?.readyState === WebSocket.OPEN;
  }

  /** Drop the connection (tests and "reconnect now"); it comes back by itself unless `stop` is set. */
  drop(stop = false): void {
    this.stopped = stop;
    this.ws?.close();
  }
}

export function socketUrl(imageId: number): string {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}/ws/images/${imageId}/annotate/`;
}
