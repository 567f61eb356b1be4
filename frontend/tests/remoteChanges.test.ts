import { describe, expect, it } from "vitest";
import type { ServerObject } from "../src/api";
import { fromServer, type LocalObject, newObject } from "../src/objects";
import type { Shape } from "../src/polygon";
import { applyChange, applyToList, type MergeContext, mergeList } from "../src/remoteChanges";

const tri: Shape = [{ outer: [[1, 1], [9, 1], [5, 8]], holes: [] }];
const sq: Shape = [{ outer: [[0, 0], [4, 0], [4, 4], [0, 4]], holes: [] }];

function server(id: number, version: number, extra: Partial<ServerObject> = {}): ServerObject {
  return { id, image: 1, label: 1, polygons: tri, area: 1, author: 1, clicks_used: 0, seconds_spent: 0, version, number: id, ...extra };
}
const ctx = (busy: string | null = null): MergeContext => ({ busy, known: new Map() });

describe("one object_changed", () => {
  it("updates a clean object in place, keeping its local id and visibility", () => {
    const obj = fromServer(server(1, 1));
    obj.visible = false;
    const objects = [obj];
    const merged = applyChange(objects, "updated", server(1, 2, { polygons: sq, label: 2, author_name: "bob" }), ctx());
    expect(merged.outcome).toBe("updated");
    expect(merged.objects[0]).toBe(obj);
    expect(obj).toMatchObject({ localId: "s1", version: 2, label: 2, polygons: sq, visible: false, authorName: "bob", dirty: false });
  });

  it("ignores versions already known", () => {
    const objects = [fromServer(server(1, 3))];
    for (const version of [2, 3]) expect(applyChange(objects, "updated", server(1, version, { polygons: sq }), ctx()).outcome).toBe("ignored");
    expect(objects[0].polygons).toBe(tri);
  });

  it("never overwrites a dirty object or the object under way", () => {
    const dirty = { ...fromServer(server(1, 1)), dirty: true };
    expect(applyChange([dirty], "updated", server(1, 2, { polygons: sq }), ctx()).outcome).toBe("ignored");
    expect(applyChange([dirty], "deleted", server(1, 2), ctx()).outcome).toBe("ignored");
    expect(dirty.polygons).toBe(tri);
    const underWay = fromServer(server(2, 1));
    expect(applyChange([underWay], "updated", server(2, 2, { polygons: sq }), ctx("s2")).outcome).toBe("ignored");
    expect(applyChange([underWay], "deleted", server(2, 2), ctx("s2")).objects).toEqual([underWay]);
  });

  it("removes a deleted clean object and does not bring it back with older news", () => {
    const c = ctx();
    const merged = applyChange([fromServer(server(1, 1))], "deleted", server(1, 2), c);
    expect(merged).toMatchObject({ outcome: "removed", objects: [] });
    expect(applyChange(merged.objects, "updated", server(1, 2), c).outcome).toBe("ignored");
    const restored = applyChange(merged.objects, "restored", server(1, 3), c);
    expect(restored.outcome).toBe("added");
    expect(restored.objects[0]).toMatchObject({ serverId: 1, version: 3, dirty: false });
  });

  it("adds someone else's new object", () => {
    const merged = applyChange([], "created", server(4, 1), ctx());
    expect(merged.outcome).toBe("added");
    expect(merged.objects[0]).toMatchObject({ localId: "s4", serverId: 4 });
  });

  it("leaves our own create to the saver when its answer has not come yet", () => {
    const mine = newObject(1, tri, 2, 3);
    const merged = applyChange([mine], "created", server(9, 1, { client_key: mine.localId }), ctx());
    expect(merged).toMatchObject({ outcome: "ignored", objects: [mine] });
  });

  it("leaves our own restore (an undone delete) to the saver", () => {
    const mine = { ...newObject(1, tri, 0, 0), restoreFrom: { id: 5, version: 2 } };
    expect(applyChange([mine], "restored", server(5, 4), ctx())).toMatchObject({ outcome: "ignored", objects: [mine] });
  });

  it("ignores a deletion it has already seen", () => {
    expect(applyChange([], "deleted", server(3, 2), ctx()).outcome).toBe("ignored");
  });
});

describe("the whole list after a reconnect", () => {
  it("takes newer versions, adds new objects and removes clean ones that are gone", () => {
    const kept = fromServer(server(1, 1));
    const gone = fromServer(server(2, 1));
    const dirtyGone: LocalObject = { ...fromServer(server(3, 1)), dirty: true };
    const fresh = newObject(1, sq, 1, 1);
    const c = ctx();
    const merged = mergeList([kept, gone, dirtyGone, fresh], [server(1, 2, { polygons: sq }), server(5, 1)], c);
    expect(merged.changed).toBe(true);
    expect(merged.objects.map((o) => o.serverId)).toEqual([1, 3, null, 5]);
    expect(kept.polygons).toBe(sq);
    expect(applyChange(merged.objects, "updated", server(2, 1), c).outcome).toBe("ignored"); // stays gone
  });

  it("keeps objects changed by messages after the list was asked for", () => {
    const late = fromServer(server(6, 1));
    expect(mergeList([late], [], ctx(), new Set([6])).objects).toEqual([late]);
  });

  it("reports no change when the list is what it holds", () => {
    expect(mergeList([fromServer(server(1, 1))], [server(1, 1)], ctx()).changed).toBe(false);
  });
});

describe("a plain list (the review page)", () => {
  it("adds, replaces, removes, and ignores stale news", () => {
    const known = new Map<number, number>();
    let list = applyToList([server(1, 1)], "created", server(2, 1), known);
    expect(list.map((o) => o.id)).toEqual([1, 2]);
    list = applyToList(list, "updated", server(1, 2, { label: 5 }), known);
    expect(list[0].label).toBe(5);
    expect(applyToList(list, "updated", server(1, 1), known)).toBe(list);
    list = applyToList(list, "deleted", server(2, 2), known);
    expect(list.map((o) => o.id)).toEqual([1]);
    expect(applyToList(list, "updated", server(2, 1), known)).toBe(list);
  });
});
