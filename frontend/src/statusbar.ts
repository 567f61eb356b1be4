/**
 * The status bar's truthful indicators: the connection (never "Connected" while the browser is offline or the
 * socket is down), whether the newest click is being computed or cannot be computed now, and the save state.
 */

import type { Pending } from "./clicking";
import { byId, h } from "./dom";
import type { SaveState } from "./saver";

export type Connection = "connecting" | "connected" | "offline" | "reconnecting" | "refused" | "logged-out";

const CONNECTION_TEXT: Record<Connection, string> = {
  connecting: "○ Connecting…",
  connected: "● Connected",
  offline: "✕ Offline",
  reconnecting: "○ Not connected — reconnecting…",
  refused: "✕ Not allowed to edit",
  "logged-out": "✕ Logged out",
};

/** What the indicator shows: the socket's state, unless the browser itself is offline. */
export function connectionOf(socketOpen: boolean, closedCode: number | null, online: boolean): Connection {
  if (closedCode === 4401) return "logged-out";
  if (closedCode !== null && closedCode >= 4400) return "refused";
  if (!online) return "offline";
  if (socketOpen) return "connected";
  return closedCode === null ? "connecting" : "reconnecting";
}

export function renderConnection(state: Connection, loginUrl: string): void {
  const el = byId("ws-connection");
  if (el.dataset.state === state) return;
  el.dataset.state = state;
  el.textContent = CONNECTION_TEXT[state];
  if (state === "logged-out") {
    // Finished objects are journaled and saved after the login; the page warns about clicks still under way.
    el.append(" — ", h("a", { href: loginUrl, id: "ws-relogin" }, "Log in again"));
  }
}

/** The newest click: a spinner while it is computed; said at once when it cannot be computed now. */
export function renderPending(pending: Pending, connection: Connection, waiting = ""): void {
  const el = byId("ws-pending");
  el.dataset.state = pending;
  if (pending === "waiting") {
    el.replaceChildren(`↻ ${waiting || "The model is busy — retrying"}`);
  } else if (pending === "computing") {
    el.replaceChildren(h("span", { class: "ws-spinner", "aria-hidden": "true" }), " Computing the mask…");
  } else if (pending === "unsent") {
    const why = connection === "offline" ? "the browser is offline" : connection === "refused" || connection === "logged-out" ? "not connected" : "no connection to the server";
    el.replaceChildren(`⚠ Cannot compute the mask now: ${why} — it is computed when the connection is back`);
  } else el.replaceChildren();
}

const SAVE_TEXT: Record<SaveState, string> = {
  saved: "All changes saved",
  unsaved: "Unsaved changes",
  saving: "Saving…",
  offline: "Offline — changes kept in this browser",
  auth: "Session expired",
  conflict: "Save conflict — choose a version",
  error: "Not saved",
};

export function renderSave(state: SaveState, unsaved: number, message: string, loginUrl: string, onLogin: () => void): void {
  const el = byId("ws-save");
  el.dataset.state = state;
  el.title = message;
  const text = unsaved && state !== "saved" ? `${SAVE_TEXT[state]} (${unsaved} unsaved)` : SAVE_TEXT[state];
  el.replaceChildren(text);
  if (state === "auth") el.append(" — ", h("a", { href: loginUrl, id: "ws-login", onclick: onLogin }, "Log in again"));
  if (state === "error" && message) el.append(` — ${message}`);
}

/** The model's readiness (`ready.inference`, `model_status`): "warming up" until a worker is warm. */
export function renderModel(ready: boolean, reason: string | null | undefined, message = ""): void {
  const el = byId("ws-model");
  el.dataset.state = ready ? "ready" : (reason ?? "warming_up");
  el.title = message;
  el.textContent = ready ? "" : reason === "warming_up" || !reason ? "◌ Model warming up…" : "✕ Model not available — clicks are retried";
}
