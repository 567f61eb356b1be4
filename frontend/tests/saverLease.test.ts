import { describe, expect, it } from "vitest";
import { ApiError, type ObjectApi, type ServerObject } from "../src/api";
import { MemoryJournal } from "../src/journal";
import { fromServer, type LocalObject } from "../src/objects";
import type { Shape } from "../src/polygon";
import { type Conflict, Saver } from "../src/saver";

const tri: Shape = [{ outer: [[1, 1], [9, 1], [5, 8]], holes: [] }];
const moved: Shape = [{ outer: [[2, 2], [9, 1], [5, 8]], holes: [] }];
const BOB = { id: 8, name: "bob", colour: "#ff7f0e" };

/** One object on the server; `leasedBy` set → changes are refused with the REST API's 423. */
class LeasedServer implements ObjectApi {
  obj: ServerObject = { id: 1, image: 1, label: 1, polygons: tri, area: 1, author: 1, clicks_used: 0, seconds_spent: 0, version: 1 };
  leasedBy: typeof BOB | null = BOB;
  async list() {
    return [{ ...this.obj }];
  }
  async create(): Promise<ServerObject> {
    throw new Error("not used");
  }
  async update(_id: number, body: { version: number; label: number; polygons: Shape }) {
    if (this.leasedBy) throw new ApiError(423, "object_leased", "bob is editing this object.", null, { code: "object_leased", holder: this.leasedBy, detail: "bob is editing this object." });
    if (body.version !== this.obj.version) throw new ApiError(409, "stale_version", "stale", { current: { ...this.obj } });
    this.obj = { ...this.obj, ...body, version: this.obj.version + 1 };
    return { ...this.obj };
  }
  async remove() {}
  async restore(): Promise<ServerObject> {
    throw new Error("not used");
  }
}

function setup() {
  const server = new LeasedServer();
  const journal = new MemoryJournal();
  const obj: LocalObject = fromServer(server.obj);
  const objects = [obj];
  const conflicts: Conflict[] = [];
  const cleared: Conflict[] = [];
  const saver = new Saver(1, server, journal, {
    objects: () => objects,
    removeLocal: (o) => objects.splice(objects.indexOf(o), 1),
    changed: () => undefined,
    status: () => undefined,
    conflict: (c) => conflicts.push(c),
    cleared: (c) => cleared.push(c),
  });
  return { server, journal, obj, objects, conflicts, cleared, saver };
}

async function editAndSave(saver: Saver, obj: LocalObject): Promise<void> {
  obj.polygons = moved;
  await saver.touch(obj, 10_000);
  await saver.flush();
}

describe("saving an object someone else holds (423)", () => {
  it("is a conflict that keeps the edit journaled, not an error", async () => {
    const { journal, obj, conflicts, saver } = setup();
    await editAndSave(saver, obj);
    expect(conflicts).toHaveLength(1);
    expect(conflicts[0].lock).toEqual({ reason: "leased", person: BOB });
    expect(saver.state()).toBe("conflict");
    expect(obj).toMatchObject({ dirty: true, problem: null, polygons: moved });
    expect(journal.records.size).toBe(1);
  });

  it("is saved again once the lease is free", async () => {
    const { server, journal, obj, cleared, saver } = setup();
    await editAndSave(saver, obj);
    server.leasedBy = null;
    saver.leaseFreed(obj);
    expect(cleared).toHaveLength(1);
    await saver.flush();
    expect(server.obj).toMatchObject({ version: 2, polygons: moved });
    expect(saver.state()).toBe("saved");
    expect(journal.records.size).toBe(0);
  });

  it("keeps mine: tried again at once (still held: the conflict again)", async () => {
    const { obj, conflicts, saver } = setup();
    await editAndSave(saver, obj);
    await saver.resolve(obj, "mine");
    await saver.flush();
    expect(conflicts).toHaveLength(2);
    expect(obj.dirty).toBe(true);
  });

  it("discard mine: the server's state is taken", async () => {
    const { server, journal, obj, objects, saver } = setup();
    await editAndSave(saver, obj);
    server.obj = { ...server.obj, polygons: [{ outer: [[0, 0], [5, 0], [5, 5]], holes: [] }], version: 3 };
    await saver.resolve(obj, "theirs");
    expect(objects).toEqual([obj]);
    expect(obj).toMatchObject({ dirty: false, version: 3, polygons: server.obj.polygons });
    expect(journal.records.size).toBe(0);
  });
});

describe("a lease of ours lost while its edit was unsaved", () => {
  it("surfaces as a conflict and is saved when the annotator keeps it (the versions decide)", async () => {
    const { server, obj, conflicts, saver } = setup();
    server.leasedBy = null;
    obj.polygons = moved;
    await saver.touch(obj, 10_000);
    saver.leaseLost(obj, "broken", BOB);
    expect(conflicts[0].lock).toEqual({ reason: "broken", person: BOB });
    await saver.flush();
    expect(server.obj.version).toBe(1); // paused until the annotator chooses
    await saver.resolve(obj, "mine");
    await saver.flush();
    expect(server.obj).toMatchObject({ version: 2, polygons: moved });
  });

  it("is nothing to ask about when there was no unsaved edit", () => {
    const { obj, conflicts, saver } = setup();
    saver.leaseLost(obj, "expired", null);
    expect(conflicts).toEqual([]);
  });
});
