/**
 * Settling the image before leaving it (F / S, Prev / Next, Submit batch): the object under way is finished —
 * as soon as its newest mask is in — and every change is saved, so moving on needs no "Leave site?" dialog.
 * When that cannot happen now (no mask yet, offline, session expired, a save refused) the annotator is told why
 * and stays on the image.
 */

import type { Clicking } from "./clicking";
import type { Saver } from "./saver";

export interface Settling {
  clicking: Pick<Clicking, "active" | "finish" | "pending" | "clicks">;
  saver: Pick<Saver, "unsaved" | "state">;
  drop(): void; // drop the object under way (it has no clicks: nothing to keep)
}

const WAIT_MASK_MS = 30_000;
const WAIT_SAVE_MS = 20_000;

/** Resolves true once `done()` holds, false when `stop()` holds first or after `timeoutMs`. */
export function waitFor(done: () => boolean, stop: () => boolean, timeoutMs: number, everyMs = 50): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  return new Promise((resolve) => {
    const check = () => {
      if (done()) return resolve(true);
      if (stop() || Date.now() > until) return resolve(false);
      setTimeout(check, everyMs);
    };
    check();
  });
}

const SAVE_BLOCKED: Record<string, string> = {
  offline: "The server cannot be reached: your work is kept in this browser and saved when it is back.",
  auth: "Your session expired: log in again (link below) — your work is kept in this browser.",
  conflict: "A save conflict waits for your choice.",
  error: "A change was refused by the server (see the object marked ! in the list).",
};

/** Finish the object under way and save everything: null when done, else why the image cannot be left now. */
export async function settle(s: Settling): Promise<string | null> {
  const unfinished = await finishUnderWay(s);
  if (unfinished) return unfinished;
  const blocked = () => s.saver.state() in SAVE_BLOCKED;
  if (!(await waitFor(() => s.saver.unsaved === 0 && s.saver.state() === "saved", blocked, WAIT_SAVE_MS))) {
    return SAVE_BLOCKED[s.saver.state()] ?? "Still saving: try again in a moment.";
  }
  return null;
}

/**
 * Finish the object under way (as soon as its newest mask is in; one without clicks is dropped): null when there
 * is none left, else why not — leaving the image, or going to another slice of a stack, waits for this.
 */
export async function finishUnderWay(s: Omit<Settling, "saver">): Promise<string | null> {
  if (s.clicking.active && s.clicking.clicks.length === 0) s.drop();
  if (s.clicking.active) {
    const result = s.clicking.finish();
    if (result === "empty") return "The object under way has no mask: click on it, or press Escape to drop it.";
    if (result === "waiting") {
      const unsent = () => s.clicking.pending === "unsent";
      if (!(await waitFor(() => !s.clicking.active, unsent, WAIT_MASK_MS))) {
        return unsent()
          ? "The newest click cannot be computed now (no connection): the object is finished when it is back."
          : "The object under way is still being computed.";
      }
    }
  }
  return null;
}
