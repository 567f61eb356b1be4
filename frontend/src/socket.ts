/**
 * The websocket of one image (docs/interactive-protocol.md, types in messages.ts). It reconnects by itself: with a
 * short backoff (at most RETRY_MAX_MS, so a server that is back is found within a couple of seconds), at once
 * when the browser comes back online or when the annotator clicks while it is down. While the browser is offline
 * it does not pretend: the socket is dropped (`closed` reports it) and nothing is sent.
 */

import { type ClientMessage, parseServerMessage, type ReadyMessage, type ServerMessage } from "./messages";

export interface SocketHost {
  opened(ready: ReadyMessage): void; // after `ready`: resume the object under way
  message(msg: ServerMessage): void; // every other message
  closed(code: number): void; // also when the browser went offline (code 0)
}

const RETRY_FIRST_MS = 250;
export const RETRY_MAX_MS = 2000;

/** The wait before the next attempt after `delay`: doubling from RETRY_FIRST_MS up to RETRY_MAX_MS. */
export function nextRetry(delay: number): number {
  return Math.min(RETRY_MAX_MS, Math.max(RETRY_FIRST_MS, delay * 2));
}

const browserOnline = () => typeof navigator === "undefined" || navigator.onLine !== false;

export class AnnotateSocket {
  private ws: WebSocket | null = null;
  private retryMs = RETRY_FIRST_MS;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;
  private refused = false; // 4401/4403/4404: retrying cannot help until the person logs in again
  ready = false;
  opens = 0; // connections made (each `ready`): what tests count reconnections by
  longestWaitMs = 0; // the longest wait ever scheduled before an attempt: tests check the backoff bound by it

  constructor(
    private readonly url: string,
    private readonly host: SocketHost,
  ) {
    window.addEventListener("online", () => this.reconnectNow());
    window.addEventListener("offline", () => this.wentOffline());
  }

  connect(): void {
    this.stopped = false;
    this.clearTimer();
    if (this.ws) return; // an attempt is under way (or the socket is open)
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.onmessage = (event) => {
      if (this.ws !== ws) return;
      const msg = typeof event.data === "string" ? parseServerMessage(event.data) : null;
      if (!msg) return;
      if (msg.type !== "ready") return this.host.message(msg);
      this.ready = true;
      this.opens += 1;
      this.retryMs = RETRY_FIRST_MS;
      this.host.opened(msg);
    };
    ws.onclose = (event) => {
      if (this.ws !== ws) return;
      this.lost(event.code);
    };
  }

  send(msg: ClientMessage): boolean {
    if (!this.open || !browserOnline()) return false;
    this.ws!.send(JSON.stringify(msg));
    return true;
  }

  get open(): boolean {
    return this.ready && this.ws?.readyState === WebSocket.OPEN;
  }

  /** Try now rather than at the next backoff step (the annotator clicked, or the browser is back online). */
  reconnectNow(): void {
    if (this.stopped || this.refused || this.ws) return;
    this.retryMs = RETRY_FIRST_MS;
    this.connect();
  }

  /** Drop the connection (tests and "reconnect now"); it comes back by itself unless `stop` is set. */
  drop(stop = false): void {
    this.stopped = stop;
    this.ws?.close();
  }

  /** Offline: the socket may look open for a long while yet; nothing can pass, so it is dropped at once. */
  private wentOffline(): void {
    const ws = this.ws;
    if (!ws) return;
    ws.onclose = null;
    ws.onmessage = null;
    ws.close();
    this.lost(0);
  }

  private lost(code: number): void {
    this.ready = false;
    this.ws = null;
    this.refused = code >= 4400;
    this.host.closed(code);
    if (this.stopped || this.refused) return;
    this.clearTimer();
    // Offline: the `online` event reconnects; the timer still tries, in case the event never comes.
    this.timer = setTimeout(() => this.connect(), this.retryMs);
    this.longestWaitMs = Math.max(this.longestWaitMs, this.retryMs);
    this.retryMs = nextRetry(this.retryMs);
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}

export function socketUrl(imageId: number): string {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}/ws/images/${imageId}/annotate/`;
}
