import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiError, NetworkError, type ObjectApi, type ServerObject } from "../src/api";
import { MemoryJournal } from "../src/journal";
import { fromServer, type LocalObject } from "../src/objects";
import type { Shape } from "../src/polygon";
import { type Conflict, Saver } from "../src/saver";

const tri: Shape = [{ outer: [[1, 1], [9, 1], [5, 8]], holes: [] }];
const mine: Shape = [{ outer: [[2, 2], [9, 1], [5, 8]], holes: [] }];
const theirs: Shape = [{ outer: [[3, 3], [9, 1], [5, 8]], holes: [] }];

/** Unreachable at first; once back, someone else has saved the object meanwhile (version 2). */
class Server implements ObjectApi {
  reachable = false;
  obj: ServerObject = { id: 1, image: 1, label: 1, polygons: theirs, area: 1, author: 2, clicks_used: 0, seconds_spent: 0, version: 2 };
  async list() {
    if (!this.reachable) throw new NetworkError("offline");
    return [{ ...this.obj }];
  }
  async create(): Promise<ServerObject> {
    throw new Error("not used");
  }
  async update(_id: number, body: { version: number }): Promise<ServerObject> {
    if (!this.reachable) throw new NetworkError("offline");
    if (body.version !== this.obj.version) throw new ApiError(409, "stale_version", "stale", { current: { ...this.obj } });
    throw new Error("not used");
  }
  async remove() {}
  async restore(): Promise<ServerObject> {
    throw new Error("not used");
  }
}

afterEach(() => {
  vi.useRealTimers();
});

describe("an edit made offline meets someone else's save when back", () => {
  it("is a conflict, and once resolved the status is saved, not still 'offline'", async () => {
    vi.useFakeTimers();
    const server = new Server();
    const obj: LocalObject = fromServer({ ...server.obj, polygons: tri, version: 1 });
    const objects = [obj];
    const conflicts: Conflict[] = [];
    const saver = new Saver(1, server, new MemoryJournal(), {
      objects: () => objects,
      removeLocal: (o) => objects.splice(objects.indexOf(o), 1),
      changed: () => undefined,
      status: () => undefined,
      conflict: (c) => conflicts.push(c),
    });
    obj.polygons = mine;
    await saver.touch(obj, 10_000);
    await saver.flush();
    expect(saver.state()).toBe("offline");

    server.reachable = true;
    saver.retry();
    await vi.runAllTimersAsync();
    expect(conflicts).toHaveLength(1);
    expect(saver.state()).toBe("conflict");

    await saver.resolve(obj, "theirs");
    await vi.runAllTimersAsync();
    expect(obj).toMatchObject({ dirty: false, version: 2, polygons: theirs });
    expect(saver.state()).toBe("saved");
    expect(saver.lastError).toBe("");
  });
});
