import { describe, expect, it } from "vitest";
import { ApiError, NetworkError, type ObjectApi, type ServerObject } from "../src/api";
import { MemoryJournal } from "../src/journal";
import { type LocalObject, newObject } from "../src/objects";
import type { Shape } from "../src/polygon";
import { type Conflict, Saver, type SaveState } from "../src/saver";

const tri: Shape = [{ outer: [[1, 1], [9, 1], [5, 8]], holes: [] }];

/** An in-memory object server with the REST API's version rules, and a switch to make it unreachable. */
class FakeServer implements ObjectApi {
  objects = new Map<number, ServerObject>();
  nextId = 1;
  down = false;
  expired = false;
  calls: string[] = [];

  private check(call: string) {
    this.calls.push(call);
    if (this.down) throw new NetworkError("offline");
    if (this.expired) throw new ApiError(401, "not_authenticated", "log in", null);
  }
  async list() {
    this.check("list");
    return [...this.objects.values()];
  }
  async create(body: { label: number; polygons: Shape; clicks_used: number; seconds_spent: number; client_key: string }) {
    this.check("create");
    const first = [...this.objects.values()].find((o) => o.client_key === body.client_key);
    if (first) return { ...first };
    const o: ServerObject = { id: this.nextId++, image: 1, author: 1, area: 1, version: 1, ...body };
    this.objects.set(o.id, o);
    return o;
  }
  async update(id: number, body: { version: number; label: number; polygons: Shape }) {
    this.check("update");
    const o = this.objects.get(id);
    if (!o) throw new ApiError(404, "not_found", "gone", null);
    if (o.version !== body.version) throw new ApiError(409, "stale_version", "stale", { current: { ...o } });
    const next = { ...o, ...body, version: o.version + 1 };
    this.objects.set(id, next);
    return next;
  }
  async remove(id: number, version: number) {
    this.check("remove");
    const o = this.objects.get(id);
    if (!o) throw new ApiError(404, "not_found", "gone", null);
    if (o.version !== version) throw new ApiError(409, "stale_version", "stale", { current: { ...o } });
    this.objects.delete(id);
    this.deleted.set(id, { ...o, version: o.version + 1 });
  }
  deleted = new Map<number, ServerObject>();
  async restore(id: number, version: number) {
    this.check("restore");
    const gone = this.deleted.get(id);
    if (!gone) throw new ApiError(404, "not_found", "gone", null);
    if (gone.version !== version + 1) throw new ApiError(409, "stale_version", "stale", { current: null });
    this.deleted.delete(id);
    const back = { ...gone, version: gone.version + 1 };
    this.objects.set(id, back);
    return back;
  }
}

function setup() {
  const server = new FakeServer();
  const journal = new MemoryJournal();
  const objects: LocalObject[] = [];
  const states: SaveState[] = [];
  const conflicts: Conflict[] = [];
  const saver = new Saver(1, server, journal, {
    objects: () => objects,
    removeLocal: (o) => objects.splice(objects.indexOf(o), 1),
    changed: () => undefined,
    status: (s) => states.push(s),
    conflict: (c) => conflicts.push(c),
  });
  return { server, journal, objects, states, conflicts, saver };
}

describe("autosave", () => {
  it("creates, then updates with the version it got, and empties the journal", async () => {
    const { server, journal, objects, saver } = setup();
    const obj = newObject(1, tri, 2, 3);
    objects.push(obj);
    await saver.touch(obj, 10_000);
    expect(journal.records.size).toBe(1);
    await saver.flush();
    expect(obj).toMatchObject({ serverId: 1, version: 1, dirty: false });
    obj.polygons = [{ outer: [[2, 2], [9, 1], [5, 8]], holes: [] }];
    await saver.touch(obj, 10_000);
    await saver.flush();
    expect(server.objects.get(1)?.polygons).toEqual(obj.polygons);
    expect(obj.version).toBe(2);
    expect(journal.records.size).toBe(0);
    expect(saver.state()).toBe("saved");
  });

  it("keeps edits journaled while the server is unreachable and saves them when it is back", async () => {
    const { server, journal, objects, saver } = setup();
    const obj = newObject(1, tri, 0, 0);
    objects.push(obj);
    server.down = true;
    await saver.touch(obj, 10_000);
    await saver.flush();
    expect(saver.state()).toBe("offline");
    expect(journal.records.size).toBe(1);
    server.down = false;
    await saver.flush();
    expect(saver.state()).toBe("saved");
    expect(server.objects.size).toBe(1);
  });

  it("does not create twice when the answer to a create was lost", async () => {
    const { server, objects, saver } = setup();
    const obj = newObject(1, tri, 0, 0);
    objects.push(obj);
    await server.create({ label: 1, polygons: tri, clicks_used: 0, seconds_spent: 0, client_key: obj.localId }); // reached the server…
    obj.maybeOnServer = true; // …but the browser never heard back
    await saver.touch(obj, 10_000);
    await saver.flush();
    expect(server.objects.size).toBe(1);
    expect(obj.serverId).toBe(1);
    expect(saver.state()).toBe("saved");
  });

  it("saves edits made after a create whose answer was lost", async () => {
    const { server, objects, saver } = setup();
    const obj = newObject(1, tri, 0, 0);
    objects.push(obj);
    await server.create({ label: 1, polygons: tri, clicks_used: 0, seconds_spent: 0, client_key: obj.localId });
    obj.maybeOnServer = true;
    obj.polygons = [{ outer: [[2, 2], [9, 2], [5, 8]], holes: [] }]; // edited before the answer would have come
    await saver.touch(obj, 10_000);
    await saver.flush();
    expect(server.objects.size).toBe(1);
    expect(server.objects.get(1)).toMatchObject({ version: 2, polygons: obj.polygons });
    expect(saver.state()).toBe("saved");
  });

  it("stops on an expired session and resumes after logging in again", async () => {
    const { server, journal, objects, saver } = setup();
    const obj = newObject(1, tri, 0, 0);
    objects.push(obj);
    server.expired = true;
    await saver.touch(obj, 10_000);
    await saver.flush();
    expect(saver.state()).toBe("auth");
    expect(journal.records.size).toBe(1);
    server.expired = false;
    saver.retry();
    await saver.flush();
    expect(saver.state()).toBe("saved");
  });

  it("never overwrites silently: a stale save is a conflict the annotator resolves", async () => {
    const { server, objects, conflicts, saver } = setup();
    const obj = newObject(1, tri, 0, 0);
    objects.push(obj);
    await saver.touch(obj, 10_000);
    await saver.flush();
    const theirs: Shape = [{ outer: [[3, 3], [9, 1], [5, 8]], holes: [] }];
    await server.update(1, { version: 1, label: 1, polygons: theirs }); // someone else saved
    const mine: Shape = [{ outer: [[1, 1], [8, 1], [5, 8]], holes: [] }];
    obj.polygons = mine;
    await saver.touch(obj, 10_000);
    await saver.flush();
    expect(conflicts).toHaveLength(1);
    expect(conflicts[0].current?.polygons).toEqual(theirs);
    expect(server.objects.get(1)?.polygons).toEqual(theirs);
    await saver.resolve(obj, "mine");
    await saver.flush();
    expect(server.objects.get(1)?.polygons).toEqual(mine);
    expect(server.objects.get(1)?.version).toBe(3);
  });

  it("an update that reached the server although the browser saw it fail is saved, not a conflict", async () => {
    const { server, journal, objects, conflicts, saver } = setup();
    const obj = newObject(1, tri, 0, 0);
    objects.push(obj);
    await saver.touch(obj, 10_000);
    await saver.flush();
    const moved: Shape = [{ outer: [[2, 2], [9, 1], [5, 8]], holes: [] }];
    await server.update(1, { version: 1, label: 1, polygons: moved }); // our save, whose answer was lost…
    obj.polygons = moved; // …replayed from the journal, still based on version 1
    await saver.touch(obj, 10_000);
    await saver.flush();
    expect(conflicts).toHaveLength(0);
    expect(obj).toMatchObject({ version: 2, dirty: false });
    expect(journal.records.size).toBe(0);
    expect(saver.state()).toBe("saved");
    expect(server.objects.get(1)?.version).toBe(2); // nothing written twice
  });

  it("taking theirs replaces the local state", async () => {
    const { server, objects, saver } = setup();
    const obj = newObject(1, tri, 0, 0);
    objects.push(obj);
    await saver.touch(obj, 10_000);
    await saver.flush();
    await server.update(1, { version: 1, label: 2, polygons: tri });
    obj.polygons = [{ outer: [[1, 1], [8, 1], [5, 8]], holes: [] }];
    await saver.touch(obj, 10_000);
    await saver.flush();
    await saver.resolve(obj, "theirs");
    expect(obj).toMatchObject({ label: 2, polygons: tri, version: 2, dirty: false });
  });

  it("deletes with the version and forgets local-only objects", async () => {
    const { server, objects, saver } = setup();
    const a = newObject(1, tri, 0, 0);
    objects.push(a);
    await saver.touch(a, 10_000);
    await saver.flush();
    a.deleted = true;
    const b = newObject(1, tri, 0, 0);
    b.deleted = true;
    objects.push(b);
    await saver.touch(a, 10_000);
    await saver.touch(b, 10_000);
    await saver.flush();
    expect(server.objects.size).toBe(0);
    expect(objects).toHaveLength(0);
    expect(server.calls.filter((c) => c === "create")).toHaveLength(1);
  });
});

describe("undoing a saved delete", () => {
  it("restores the object under its id, then saves edits made since", async () => {
    const { server, objects, saver } = setup();
    const obj = newObject(1, tri, 2, 3);
    objects.push(obj);
    await saver.touch(obj, 0);
    await saver.flush();
    obj.deleted = true;
    await saver.touch(obj, 0);
    await saver.flush();
    expect(server.objects.size).toBe(0);
    // what the workspace's undo does once the delete reached the server
    obj.restoreFrom = { id: 1, version: 1 };
    Object.assign(obj, { serverId: null, version: null, deleted: false });
    obj.label = 2;
    objects.push(obj);
    await saver.touch(obj, 0);
    await saver.flush();
    expect(server.calls.filter((c) => c === "create")).toHaveLength(1);
    expect(obj).toMatchObject({ serverId: 1, version: 4, dirty: false, restoreFrom: null });
    expect(server.objects.get(1)?.label).toBe(2);
  });

  it("creates the object anew when the restore is refused", async () => {
    const { server, objects, saver } = setup();
    const obj = newObject(1, tri, 2, 3);
    obj.restoreFrom = { id: 41, version: 7 }; // unknown to the server
    objects.push(obj);
    await saver.touch(obj, 0);
    await saver.flush();
    expect(server.calls).toContain("restore");
    expect(obj).toMatchObject({ serverId: 1, version: 1, dirty: false });
  });
});
