import { describe, expect, it, vi } from "vitest";
import { Clicking, type ClicksEntry, type Finished, type Pending } from "../src/clicking";
import { History } from "../src/history";
import type { ClientMessage, MaskMessage, MaskOptions } from "../src/messages";

const DEFAULTS: MaskOptions = { threshold: 0.4, largest_component: false, tolerance: 2 };
const SQUARE = [{ outer: [[1, 1], [5, 1], [5, 5]] as [number, number][], holes: [] }];

/** The click session with what it talks to recorded: the socket's messages, the markers, masks, objects. */
function session(connected = true) {
  const sent: ClientMessage[] = [];
  const shown: (MaskMessage | null)[] = [];
  const finished: Finished[] = [];
  const pendings: Pending[] = [];
  const flashed: string[] = [];
  const history = new History<ClicksEntry | { kind: "object" }>();
  const host = {
    connected,
    send: (msg: ClientMessage) => (host.connected ? (sent.push(msg), true) : false),
    markers: (_clicks: unknown, pending: Pending) => pendings.push(pending),
    showMask: (mask: MaskMessage | null) => shown.push(mask),
    finished: (result: Finished) => finished.push(result),
    flash: (message: string) => flashed.push(message),
  };
  const clicking = new Clicking(host, history);
  clicking.setLabel(7);
  clicking.opened(DEFAULTS);
  const last = () => sent[sent.length - 1];
  const lastList = () => {
    const msg = last();
    return msg.type === "clicks" ? msg.clicks : [];
  };
  const mask = (seq: number, area = 40): MaskMessage => ({
    type: "mask", seq, clicks: 1, steps: 1, rebuilt: false, rle: { size: [8, 8], counts: "" }, bbox: [1, 1, 4, 4], area, polygons: area ? SQUARE : [], latency: {},
  });
  /** What the workspace does on Ctrl+Z / Ctrl+Y. */
  const undo = () => {
    const entry = history.undo();
    if (entry?.kind === "clicks") clicking.restore(entry.before);
  };
  const redo = () => {
    const entry = history.redo();
    if (entry?.kind === "clicks") clicking.restore(entry.after);
  };
  const pending = () => pendings[pendings.length - 1];
  return { clicking, host, sent, shown, finished, flashed, history, last, lastList, mask, undo, redo, pending };
}

describe("the click session (protocol v2: the browser owns the click list)", () => {
  it("starts with the server's default options and sends the whole list with every change", () => {
    const s = session();
    s.clicking.add(10, 20, true);
    expect(s.last()).toEqual({ type: "start", label: 7, ...DEFAULTS, clicks: [{ x: 10, y: 20, positive: true }], seq: 1 });
    s.clicking.add(30, 40, false);
    expect(s.last()).toEqual({ type: "clicks", seq: 2, clicks: [{ x: 10, y: 20, positive: true }, { x: 30, y: 40, positive: false }] });
    s.clicking.remove(0);
    expect(s.last()).toEqual({ type: "clicks", seq: 3, clicks: [{ x: 30, y: 40, positive: false }] });
    s.undo();
    expect(s.lastList()).toHaveLength(2);
    s.undo();
    expect(s.last()).toEqual({ type: "clicks", seq: 5, clicks: [{ x: 10, y: 20, positive: true }] });
    s.redo();
    expect(s.lastList()).toHaveLength(2);
    s.clicking.remove(1);
    s.clicking.remove(0); // reset: the empty list, no mask to wait for
    expect(s.last()).toEqual({ type: "clicks", seq: 8, clicks: [] });
    expect(s.clicking.awaiting).toBeNull();
    const seqs = s.sent.map((m) => ("seq" in m ? (m.seq ?? 0) : 0));
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  });

  it("shows only the mask of the newest list", () => {
    const s = session();
    s.clicking.add(10, 20, true);
    s.clicking.add(11, 21, true);
    expect(s.clicking.awaiting).toBe(2);
    s.clicking.message(s.mask(1)); // answers the older list: stale
    expect(s.shown.filter(Boolean)).toHaveLength(0);
    s.clicking.message({ type: "superseded", seq: 1 });
    s.clicking.message(s.mask(2));
    expect(s.clicking.mask?.seq).toBe(2);
    expect(s.clicking.awaiting).toBeNull();
  });

  it("an error answering the awaited request ends the wait; stale_seq is not shown", () => {
    const s = session();
    s.clicking.add(10, 20, true);
    s.clicking.message({ type: "error", code: "stale_seq", message: "old", seq: 1 });
    expect(s.clicking.awaiting).toBeNull();
    expect(s.flashed).toEqual([]);
    s.clicking.message({ type: "error", code: "forbidden", message: "The batch was submitted." });
    expect(s.flashed).toEqual(["The batch was submitted."]);
  });

  it("new options recompute the object under way; while a mask is awaited only the newest wait", () => {
    const s = session();
    s.clicking.setOptions({ threshold: 0.9 }); // no object: kept for the next start
    expect(s.sent).toHaveLength(0);
    s.clicking.add(10, 20, true);
    expect(s.last()).toMatchObject({ type: "start", threshold: 0.9, largest_component: false });
    s.clicking.message({ type: "started", session: "a", model: "m", label: 7 });
    s.clicking.setOptions({ largest_component: true }); // the click's mask is still to come: held
    s.clicking.setOptions({ threshold: 0.6 });
    s.clicking.setOptions({ threshold: 0.55 }); // a slider dragged: three steps, one request
    expect(s.sent).toHaveLength(1);
    s.clicking.message(s.mask(1));
    expect(s.last()).toEqual({ type: "options", seq: 2, threshold: 0.55, largest_component: true, tolerance: 2 });
    expect(s.clicking.awaiting).toBe(2);
    s.clicking.setOptions({ threshold: 0.5 });
    expect(s.sent).toHaveLength(2);
    s.clicking.message(s.mask(2));
    expect(s.last()).toMatchObject({ type: "options", seq: 3, threshold: 0.5 });
    s.clicking.message(s.mask(3));
    s.clicking.setOptions({ threshold: 0.5 }); // unchanged: nothing to recompute
    expect(s.sent).toHaveLength(3);
    expect(s.clicking.awaiting).toBeNull();
  });

  it("says what the newest click waits for: computing, or unsent while the socket is down", () => {
    const s = session();
    s.clicking.add(10, 20, true);
    expect(s.pending()).toBe("computing");
    s.clicking.message(s.mask(1));
    expect(s.pending()).toBe("idle");
    s.host.connected = false;
    s.clicking.add(30, 40, true); // cannot be sent: said at once
    expect(s.clicking.pending).toBe("unsent");
    expect(s.pending()).toBe("unsent");
    s.host.connected = true;
    s.clicking.opened(DEFAULTS); // back: resumed with all its clicks
    expect(s.pending()).toBe("computing");
    s.clicking.closed(); // lost while computing: its mask cannot come any more
    expect(s.pending()).toBe("unsent");
    s.clicking.opened(DEFAULTS);
    expect(s.last()).toMatchObject({ type: "start", seq: 4 });
    s.clicking.message({ type: "error", code: "worker_timeout", message: "slow", seq: 4 });
    expect(s.pending()).toBe("idle");
  });

  it("re-opens a finished object with its clicks; finishing gives its new shape and all clicks", () => {
    const s = session();
    const clicks = [{ x: 10, y: 20, positive: true }];
    expect(s.clicking.reopen({ localId: "s5", label: 3, clicks })).toBe(true);
    expect(s.clicking.target).toBe("s5");
    expect(s.last()).toEqual({ type: "start", label: 3, ...DEFAULTS, clicks, seq: 1 });
    expect(s.clicking.reopen({ localId: "s6", label: 3, clicks })).toBe(false); // one at a time
    s.clicking.message({ type: "started", session: "a", model: "m", label: 3 });
    s.clicking.message(s.mask(1));
    s.clicking.add(30, 40, false);
    s.clicking.message(s.mask(2));
    expect(s.clicking.finish()).toBe("finished");
    expect(s.finished[0]).toMatchObject({ target: "s5", label: 3, polygons: SQUARE, placed: 1 });
    expect(s.finished[0].clicks).toEqual([...clicks, { x: 30, y: 40, positive: false }]);
    expect(s.clicking.target).toBeNull();
  });

  it("re-opens an object without clicks empty: nothing to compute until the first click", () => {
    const s = session();
    s.clicking.reopen({ localId: "s5", label: 3, clicks: [] });
    expect(s.sent).toHaveLength(0);
    expect(s.clicking.active).toBe(true);
    expect(s.clicking.finish()).toBe("empty");
    s.clicking.add(1, 2, true);
    expect(s.last()).toMatchObject({ type: "start", label: 3, clicks: [{ x: 1, y: 2, positive: true }] });
    expect(s.clicking.cancel()).toBe(true);
    expect(s.finished).toHaveLength(0);
  });

  it("resumes with `start` carrying all the clicks after a reconnect; the first options stay", () => {
    const s = session();
    s.clicking.add(10, 20, true);
    s.host.connected = false;
    s.clicking.add(30, 40, true); // not sent: the socket is down
    expect(s.sent).toHaveLength(1);
    s.host.connected = true;
    s.clicking.opened({ threshold: 0.7, largest_component: true, tolerance: 1 });
    expect(s.last()).toEqual({
      type: "start", label: 7, ...DEFAULTS, seq: 3, clicks: [{ x: 10, y: 20, positive: true }, { x: 30, y: 40, positive: true }],
    });
    s.clicking.add(50, 60, false);
    expect(s.last()).toMatchObject({ type: "clicks", seq: 4 });
  });

  it("finishes once the newest mask is in: its polygons, the distinct clicks placed, then `cancel`", () => {
    const s = session();
    s.clicking.add(10, 20, true);
    s.clicking.add(30, 40, false);
    s.undo();
    s.redo(); // the same click again: still two placed
    s.clicking.add(50, 60, true);
    s.clicking.remove(2); // a removed click was placed all the same
    expect(s.clicking.placed).toBe(3);
    s.clicking.finish(); // waits for the mask of seq 6
    expect(s.finished).toHaveLength(0);
    s.clicking.message(s.mask(6));
    expect(s.finished).toHaveLength(1);
    const obj = s.finished[0];
    expect(obj).toMatchObject({ target: null, label: 7, polygons: SQUARE, placed: 3 });
    expect(obj.clicks).toEqual([{ x: 10, y: 20, positive: true }, { x: 30, y: 40, positive: false }]);
    expect(obj.polygons).not.toBe(SQUARE);
    expect(s.last()).toEqual({ type: "cancel" });
    expect(s.clicking.clicks).toHaveLength(0);
    expect(s.history.canUndo).toBe(false); // the object's clicks are no longer undoable
  });

  it("an empty mask is not finished; Escape drops the object", () => {
    const s = session();
    s.clicking.finish(); // nothing under way
    s.clicking.add(10, 20, true);
    s.clicking.message(s.mask(1, 0));
    s.clicking.finish();
    expect(s.finished).toHaveLength(0);
    expect(s.flashed).toHaveLength(1);
    expect(s.clicking.cancel()).toBe(true);
    expect(s.last()).toEqual({ type: "cancel" });
    expect(s.clicking.cancel()).toBe(false);
    expect(s.shown[s.shown.length - 1]).toBeNull();
  });

  it("sends no `cancel` for an object the server never heard of", () => {
    const s = session(false);
    s.clicking.add(10, 20, true);
    s.host.connected = true;
    expect(s.clicking.cancel()).toBe(true);
    expect(s.sent).toEqual([]);
  });
});

describe("a click answered busy (overload, warm-up)", () => {
  it("waits for the server's hint, then sends the list again, backing off while the server stays busy", () => {
    vi.useFakeTimers();
    try {
      const s = session();
      s.clicking.message({ type: "started", session: "x", model: "m", label: 7 });
      s.clicking.add(10, 20, true);
      const busy = (seq: number, retry = 1) => s.clicking.message({ type: "busy", seq, reason: "overloaded", retry_after_s: retry, message: "busy" });
      busy(1);
      expect(s.pending()).toBe("waiting");
      expect(s.clicking.waitingText).toMatch(/busy — retrying in \d+ s/);
      expect(s.sent).toHaveLength(1);
      vi.advanceTimersByTime(999);
      expect(s.sent).toHaveLength(1); // not before the hint
      vi.advanceTimersByTime(260); // the hint plus at most a quarter of jitter
      expect(s.last()).toEqual({ type: "clicks", seq: 2, clicks: [{ x: 10, y: 20, positive: true }] });
      expect(s.pending()).toBe("computing");
      busy(2); // busy again: 1.5 × the last delay
      vi.advanceTimersByTime(1499);
      expect(s.sent).toHaveLength(2);
      vi.advanceTimersByTime(380);
      expect(s.sent).toHaveLength(3);
      s.clicking.message(s.mask(3));
      expect(s.pending()).toBe("idle");
      expect(s.shown.filter(Boolean)).toHaveLength(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it("drops the retry when the annotator changes the list meanwhile (the change is sent at once)", () => {
    vi.useFakeTimers();
    try {
      const s = session();
      s.clicking.message({ type: "started", session: "x", model: "m", label: 7 });
      s.clicking.add(10, 20, true);
      s.clicking.message({ type: "busy", seq: 1, reason: "warming_up", retry_after_s: 1, message: "warming" });
      expect(s.clicking.waitingText).toMatch(/warming up/);
      s.clicking.add(30, 40, false);
      expect(s.pending()).toBe("computing");
      vi.advanceTimersByTime(5000);
      expect(s.sent).toHaveLength(2); // no retry of the older list
      s.clicking.message({ type: "busy", seq: 1, reason: "overloaded", retry_after_s: 1, message: "late" });
      expect(s.pending()).toBe("computing"); // a busy answer to an older request changes nothing
    } finally {
      vi.useRealTimers();
    }
  });
});
