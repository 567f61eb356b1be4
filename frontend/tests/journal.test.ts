import { describe, expect, it } from "vitest";
import type { ServerObject } from "../src/api";
import { MemoryJournal, pendingOf, replay } from "../src/journal";
import { newObject } from "../src/objects";
import type { Shape } from "../src/polygon";

const tri: Shape = [{ outer: [[1, 1], [9, 1], [5, 8]], holes: [] }];
const moved: Shape = [{ outer: [[2, 1], [9, 1], [5, 8]], holes: [] }];
const server = (id: number, version: number, polygons: Shape = tri, label = 1): ServerObject => ({
  id, image: 7, label, polygons, area: 30, author: 1, clicks_used: 1, seconds_spent: 2, version,
});

describe("journal replay", () => {
  it("lays unsaved edits over the server state, keeping the version they were based on", () => {
    const local = replay([server(5, 3)], [
      { ...pendingOf({ ...newObject(2, moved, 0, 0), localId: "s5", serverId: 5, version: 2 }, 7) },
    ]);
    expect(local).toHaveLength(1);
    expect(local[0]).toMatchObject({ serverId: 5, version: 2, label: 2, polygons: moved, dirty: true });
  });

  it("restores never-confirmed creations and marks them to be looked for first", () => {
    const obj = newObject(1, tri, 3, 4);
    const local = replay([], [pendingOf(obj, 7)]);
    expect(local[0]).toMatchObject({ localId: obj.localId, serverId: null, dirty: true, maybeOnServer: true, clicksUsed: 3 });
  });

  it("keeps local deletions", () => {
    const local = replay([server(5, 1)], [pendingOf({ ...newObject(1, tri, 0, 0), localId: "s5", serverId: 5, version: 1, deleted: true }, 7)]);
    expect(local[0].deleted).toBe(true);
  });

  it("lays an unconfirmed creation over the object it made on the server (found by client key)", () => {
    const obj = { ...newObject(1, moved, 0, 0), maybeOnServer: true };
    const local = replay([server(5, 1), { ...server(6, 1), client_key: obj.localId }], [pendingOf(obj, 7)]);
    expect(local).toHaveLength(2);
    expect(local[1]).toMatchObject({ localId: obj.localId, serverId: 6, version: 1, polygons: moved, dirty: true });
  });

  it("stores one record per object and per image", async () => {
    const journal = new MemoryJournal();
    const a = newObject(1, tri, 0, 0);
    await journal.put(pendingOf(a, 7));
    await journal.put(pendingOf({ ...a, polygons: moved }, 7));
    await journal.put(pendingOf(newObject(1, tri, 0, 0), 8));
    expect((await journal.pending(7)).map((p) => p.polygons)).toEqual([moved]);
    await journal.remove(a.localId);
    expect(await journal.pending(7)).toEqual([]);
  });
});
