import { describe, expect, it } from "vitest";
import type { ObjectApi, ObjectCreate } from "../src/api";
import { Clicking, type ClicksEntry, type Finished } from "../src/clicking";
import { parseServerMessage } from "../src/messages";
import { History } from "../src/history";
import { MemoryJournal, pendingOf, replay } from "../src/journal";
import type { ClientMessage } from "../src/messages";
import { fromServer, newObject } from "../src/objects";

const OPTIONS = { threshold: 0.5, largest_component: false, tolerance: 1 };
const SQUARE = [{ outer: [[1, 1], [5, 1], [5, 5]] as [number, number][], holes: [] }];

function clicking() {
  const sent: ClientMessage[] = [];
  const finished: Finished[] = [];
  const c = new Clicking(
    { send: (m) => (sent.push(m), true), markers: () => undefined, showMask: () => undefined, finished: (r) => finished.push(r), flash: () => undefined },
    new History<ClicksEntry>(),
  );
  c.setLabel(3);
  c.opened(OPTIONS);
  return { c, sent, finished };
}

describe("objects on a slice of a stack", () => {
  it("a new object starts on the current slice (start carries it) and finishes there", () => {
    const { c, sent, finished } = clicking();
    c.setSlice(4);
    c.add(10, 12, true);
    expect(sent[0]).toMatchObject({ type: "start", label: 3, slice: 4 });
    c.message({ type: "mask", seq: 1, clicks: 1, steps: 1, rebuilt: false, rle: { size: [8, 8], counts: "" }, bbox: [], area: 9, polygons: SQUARE, latency: {} });
    c.setSlice(5); // the object under way keeps its slice
    expect(c.finish()).toBe("finished");
    expect(finished[0].slice).toBe(4);
  });

  it("slice 0 (every 2-D image) is not sent: the server's default", () => {
    const { c, sent } = clicking();
    c.add(1, 1, true);
    expect(sent[0]).not.toHaveProperty("slice");
  });

  it("a re-opened object is segmented on its own slice; a new rendering restarts the object from its clicks", () => {
    const { c, sent } = clicking();
    c.reopen({ localId: "s1", slice: 2, label: 3, clicks: [{ x: 1, y: 2, positive: true }] });
    expect(sent[0]).toMatchObject({ type: "start", slice: 2, seq: 1 });
    c.message({ type: "started", session: "x", model: "m", label: 3 });
    c.renderingChanged();
    expect(sent[1]).toMatchObject({ type: "start", slice: 2, seq: 2, clicks: [{ x: 1, y: 2, positive: true }] });
  });

  it("objects keep their slice from the server, through the journal and in a create", async () => {
    const server = fromServer({ id: 9, image: 1, slice: 3, label: 1, polygons: SQUARE, area: 1, author: null, clicks_used: 1, seconds_spent: 1, version: 1 });
    expect(server.slice).toBe(3);
    expect(fromServer({ id: 8, image: 1, label: 1, polygons: SQUARE, area: 1, author: null, clicks_used: 1, seconds_spent: 1, version: 1 }).slice).toBe(0);
    const made = newObject(1, SQUARE, 2, 3.5, [], 6);
    const journal = new MemoryJournal();
    await journal.put(pendingOf(made, 1));
    const [replayed] = replay([], await journal.pending(1));
    expect(replayed.slice).toBe(6);
  });

  it("display_changed is read from the socket", () => {
    const msg = parseServerMessage(JSON.stringify({ type: "display_changed", image: 4, display: { mode: "window", center: 1, width: 2 }, by: { id: 1, name: "ann" } }));
    expect(msg).toMatchObject({ type: "display_changed", image: 4, display: { mode: "window" }, by: { name: "ann" } });
    expect(parseServerMessage(JSON.stringify({ type: "display_changed", image: 4 }))).toBeNull();
  });
});

describe("saving an object of a slice", () => {
  it("creates it with its slice (slice 0 left to the server's default)", async () => {
    const { Saver } = await import("../src/saver");
    const bodies: ObjectCreate[] = [];
    const objects = [newObject(1, SQUARE, 1, 1, [], 3), newObject(1, SQUARE, 1, 1, [], 0)];
    const api: ObjectApi = {
      list: async () => [],
      create: async (body) => {
        bodies.push(body);
        return { id: bodies.length, image: 1, author: 1, area: 1, version: 1, ...body };
      },
      update: async () => Promise.reject(new Error("not used")),
      remove: async () => undefined,
      restore: async () => Promise.reject(new Error("not used")),
    };
    const saver = new Saver(1, api, new MemoryJournal(), {
      objects: () => objects,
      removeLocal: () => undefined,
      changed: () => undefined,
      status: () => undefined,
      conflict: () => undefined,
    });
    await saver.flush();
    expect(bodies[0]).toMatchObject({ slice: 3 });
    expect(bodies[1]).not.toHaveProperty("slice");
    expect(objects.every((o) => !o.dirty)).toBe(true);
  });
});
