import { describe, expect, it } from "vitest";
import { parseServerMessage } from "../src/messages";

const frame = (msg: unknown) => JSON.stringify(msg);
const OPTIONS = { threshold: 0.5, largest_component: true, tolerance: 1 };
const ANN = { id: 7, name: "ann", colour: "#1f77b4" };
const BOB = { id: 8, name: "bob", colour: "#ff7f0e" };
const READY = { type: "ready", image: { id: 1, width: 4, height: 3 }, model: "m", models: ["m"], options: OPTIONS };

describe("teamwork messages", () => {
  it("reads the teamwork fields of ready, with defaults from an older server", () => {
    const ready = parseServerMessage(
      frame({ ...READY, you: ANN, viewers: [{ ...BOB, role: "reviewer" }, { name: "no id" }], leases: [{ object: 3, holder: BOB, mine: false }, { object: "x", holder: BOB }], lease_ttl_s: 45, heartbeat_s: 15 }),
    );
    expect(ready?.type === "ready" && ready.team).toEqual({
      you: ANN,
      viewers: [{ ...BOB, role: "reviewer" }],
      leases: [{ object: 3, holder: BOB, mine: false }],
      lease_ttl_s: 45,
      heartbeat_s: 15,
      collab: true,
      can_edit: true,
      can_break_leases: false,
    });
    const old = parseServerMessage(frame(READY));
    expect(old?.type === "ready" && old.team).toEqual({ you: null, viewers: [], leases: [], lease_ttl_s: 45, heartbeat_s: 15, collab: false, can_edit: true, can_break_leases: false });
    const readOnly = parseServerMessage(frame({ ...READY, can_edit: false, leases: [], heartbeat_s: 15 }));
    expect(readOnly?.type === "ready" && readOnly.team.can_edit).toBe(false);
    const manager = parseServerMessage(frame({ ...READY, can_break_leases: true, leases: [], heartbeat_s: 15 }));
    expect(manager?.type === "ready" && manager.team.can_break_leases).toBe(true);
    const odd = parseServerMessage(frame({ ...READY, you: "ann", viewers: "x", leases: null, heartbeat_s: -1 }));
    expect(odd?.type === "ready" && odd.team.heartbeat_s).toBe(15);
  });

  it("types each teamwork message", () => {
    expect(parseServerMessage(frame({ type: "viewers", viewers: [{ ...ANN, role: "annotator" }] }))).toEqual({ type: "viewers", viewers: [{ ...ANN, role: "annotator" }] });
    expect(parseServerMessage(frame({ type: "leases", leases: [{ object: 1, holder: ANN, mine: true }] }))).toEqual({ type: "leases", leases: [{ object: 1, holder: ANN, mine: true }] });
    expect(parseServerMessage(frame({ type: "lease_refused", object: 1, holder: BOB }))).toEqual({ type: "lease_refused", object: 1, holder: BOB, message: "Locked by bob" });
    expect(parseServerMessage(frame({ type: "lease_lost", object: 1, reason: "broken", by: BOB }))).toEqual({ type: "lease_lost", object: 1, reason: "broken", by: BOB });
    expect(parseServerMessage(frame({ type: "lease_lost", object: 1, reason: "?" }))).toEqual({ type: "lease_lost", object: 1, reason: "expired", by: null });
    const object = { id: 5, image: 1, label: 2, polygons: [], area: 0, author: 7, clicks_used: 0, seconds_spent: 0, version: 3 };
    expect(parseServerMessage(frame({ type: "object_changed", action: "updated", object, by: ANN }))).toEqual({ type: "object_changed", action: "updated", object, by: ANN });
    expect(parseServerMessage(frame({ type: "object_changed", action: "deleted", object: { id: 5, version: 4 } }))).toMatchObject({ action: "deleted", by: null });
    expect(parseServerMessage(frame({ type: "image_changed", image: { id: 1, status: "accepted", batch: 2 }, by: BOB }))).toEqual({
      type: "image_changed",
      image: { id: 1, status: "accepted", batch: 2 },
      by: BOB,
    });
    const comment = parseServerMessage(frame({ type: "comment_added", comment: { id: 9, text: "fix", author_name: "bob", x: 3, y: null, object: null, created_at: "t" } }));
    expect(comment?.type === "comment_added" && comment.comment).toMatchObject({ id: 9, text: "fix", x: 3, y: null, object: null });
  });

  it("fills a person's missing name and colour", () => {
    const msg = parseServerMessage(frame({ type: "viewers", viewers: [{ id: 4, colour: "red" }] }));
    expect(msg?.type === "viewers" && msg.viewers).toEqual([{ id: 4, name: "user 4", colour: "#888888", role: "" }]);
  });

  it("drops teamwork messages without what they are about", () => {
    for (const msg of [
      { type: "viewers" },
      { type: "leases", leases: {} },
      { type: "lease_refused", holder: BOB },
      { type: "lease_lost", object: "1" },
      { type: "object_changed", action: "moved", object: { id: 1, version: 1, polygons: [], label: 1 } },
      { type: "object_changed", action: "updated", object: { id: 1 } },
      { type: "object_changed", action: "updated", object: { id: 1, version: 2 } }, // nothing to draw
      { type: "image_changed", image: { id: 1 } },
      { type: "comment_added", comment: { text: "x" } },
    ]) {
      expect(parseServerMessage(frame(msg))).toBeNull();
    }
  });
});
