/**
 * The workspace's link to the server: the image's websocket (socket.ts) and the truthful indicator of its state
 * (statusbar.ts) — refreshed when the socket opens or closes and when the browser goes offline or online.
 */

import type { Pending } from "./clicking";
import type { ReadyMessage, ServerMessage } from "./messages";
import { AnnotateSocket, socketUrl } from "./socket";
import { type Connection, connectionOf, renderConnection, renderPending } from "./statusbar";

export interface LinkHost {
  opened(ready: ReadyMessage): void;
  message(msg: ServerMessage): void;
  closed(): void;
  pending(): Pending; // shown beside the connection: a click that cannot be computed says why
  waiting?(): string; // why the newest click waits for a retry (the server answered `busy`)
  loginUrl(): string;
}

export class Link {
  readonly socket: AnnotateSocket;
  private closedCode: number | null = null;

  constructor(
    imageId: number,
    private readonly host: LinkHost,
  ) {
    this.socket = new AnnotateSocket(socketUrl(imageId), {
      opened: (ready) => {
        this.closedCode = null;
        this.show();
        host.opened(ready);
      },
      message: (msg) => host.message(msg),
      closed: (code) => {
        this.closedCode = code;
        host.closed();
        this.show();
      },
    });
    window.addEventListener("offline", () => this.show());
    window.addEventListener("online", () => this.show());
  }

  get state(): Connection {
    return connectionOf(this.socket.open, this.closedCode, navigator.onLine !== false);
  }

  show(): void {
    const state = this.state;
    renderConnection(state, this.host.loginUrl());
    renderPending(this.host.pending(), state, this.host.waiting?.() ?? "");
  }
}
