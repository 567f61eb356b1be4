import { describe, expect, it } from "vitest";
import type { Pending } from "../src/clicking";
import type { SaveState } from "../src/saver";
import { settle } from "../src/settle";

/** A click session and a saver as settle() sees them, driven by the test. */
function parts(active: boolean) {
  const clicking = {
    active,
    clicks: [{ x: 1, y: 1, positive: true }],
    pending: "idle" as Pending,
    result: "finished" as "finished" | "waiting" | "empty" | "none",
    finish() {
      if (this.result === "finished") this.active = false;
      return this.result;
    },
  };
  const saver = { unsaved: 0, saveState: "saved" as SaveState, state() { return this.saveState; } };
  const drop = () => (clicking.active = false);
  return { clicking, saver, drop };
}

describe("leaving an image settled", () => {
  it("finishes the object under way and waits until it is saved", async () => {
    const s = parts(true);
    s.saver.unsaved = 1;
    s.saver.saveState = "saving";
    setTimeout(() => Object.assign(s.saver, { unsaved: 0, saveState: "saved" }), 30);
    expect(await settle(s)).toBeNull();
    expect(s.clicking.active).toBe(false);
  });

  it("waits for the awaited mask before finishing", async () => {
    const s = parts(true);
    s.clicking.result = "waiting";
    s.clicking.pending = "computing";
    setTimeout(() => (s.clicking.active = false), 30); // the mask came: finished
    expect(await settle(s)).toBeNull();
  });

  it("stays, saying why, when the mask cannot come now or a save is blocked", async () => {
    const s = parts(true);
    s.clicking.result = "waiting";
    s.clicking.pending = "unsent";
    expect(await settle(s)).toMatch(/cannot be computed now/);
    const empty = parts(true);
    empty.clicking.result = "empty";
    expect(await settle(empty)).toMatch(/no mask/);
    const noClicks = parts(true); // all its markers removed: nothing to keep, dropped
    noClicks.clicking.clicks = [];
    noClicks.clicking.result = "empty";
    expect(await settle(noClicks)).toBeNull();
    expect(noClicks.clicking.active).toBe(false);
    const offline = parts(false);
    offline.saver.unsaved = 1;
    offline.saver.saveState = "offline";
    expect(await settle(offline)).toMatch(/cannot be reached/);
  });
});
