import { describe, expect, it } from "vitest";
import type { ObjectApi, ObjectCreate, ObjectUpdate, ServerObject } from "../src/api";
import { History } from "../src/history";
import { MemoryJournal, replay } from "../src/journal";
import { ObjectEdits, type ObjectEntry } from "../src/objectEdits";
import { fromServer, type LocalObject } from "../src/objects";
import type { Shape } from "../src/polygon";
import { Saver } from "../src/saver";

const tri: Shape = [{ outer: [[1, 1], [9, 1], [5, 8]], holes: [] }];
const square: Shape = [{ outer: [[1, 1], [9, 1], [9, 9], [1, 9]], holes: [] }];
const CLICKS = [{ x: 4, y: 4, positive: true }];

/** An object API that records what the browser sent and numbers objects per image, like the server. */
class RecordingApi implements ObjectApi {
  created: ObjectCreate[] = [];
  updated: ObjectUpdate[] = [];
  stored = new Map<number, ServerObject>();
  async list() {
    return [...this.stored.values()];
  }
  async create(body: ObjectCreate) {
    this.created.push(body);
    const id = this.stored.size + 1;
    const o: ServerObject = { id, image: 1, author: 1, author_name: "ann", area: 1, version: 1, number: id, ...body };
    this.stored.set(id, o);
    return o;
  }
  async update(id: number, body: ObjectUpdate) {
    this.updated.push(body);
    const o = { ...this.stored.get(id)!, ...body, version: body.version + 1 };
    this.stored.set(id, o);
    return o;
  }
  async remove() {}
  async restore(): Promise<ServerObject> {
    throw new Error("not used");
  }
}

function setup(server: ServerObject) {
  const api = new RecordingApi();
  api.stored.set(server.id, server);
  const history = new History<ObjectEntry>();
  const objects: LocalObject[] = [fromServer(server)];
  const saver = new Saver(1, api, new MemoryJournal(), {
    objects: () => objects,
    removeLocal: () => undefined,
    changed: () => undefined,
    status: () => undefined,
    conflict: () => undefined,
  });
  const edits = new ObjectEdits({ width: 20, height: 20 }, history, {
    touch: (obj) => void saver.touch(obj, 10_000),
    changed: () => undefined,
    dragging: () => undefined,
    flash: () => undefined,
  });
  edits.objects = objects;
  const settled = async () => {
    await new Promise((r) => setTimeout(r, 0)); // the journal write of the touch
    await saver.flush();
  };
  return { api, history, edits, saver, obj: objects[0], settled };
}

const stored = (over: Partial<ServerObject> = {}): ServerObject => ({
  id: 7, image: 1, label: 2, polygons: tri, area: 30, author: 1, author_name: "ann", number: 3, clicks: CLICKS,
  clicks_used: 1, seconds_spent: 2, version: 4, ...over,
});

describe("an object re-opened for clicks", () => {
  it("keeps the server's number, author and clicks", () => {
    const obj = fromServer(stored());
    expect(obj).toMatchObject({ number: 3, authorName: "ann", clicks: CLICKS, clicksChanged: false });
    expect(fromServer(stored({ clicks: undefined, number: undefined })).clicks).toEqual([]);
  });

  it("its new shape is one PATCH of the same object with polygons and all clicks; undo sends the old ones", async () => {
    const s = setup(stored());
    const clicks = [...CLICKS, { x: 8, y: 8, positive: true }];
    s.edits.reshape(s.obj, { label: 2, polygons: square, clicks, placed: 1, seconds: 1.5 });
    expect(s.history.size).toBe(1);
    await s.settled();
    expect(s.api.updated).toEqual([{ version: 4, label: 2, polygons: square, clicks, clicks_used: 2, seconds_spent: 3.5 }]);
    expect(s.obj).toMatchObject({ serverId: 7, version: 5, clicksChanged: false, dirty: false });

    const entry = s.history.undo()!;
    s.edits.apply(entry.obj, entry.before);
    await s.settled();
    expect(s.api.updated[1]).toMatchObject({ version: 5, polygons: tri, clicks: CLICKS });
  });

  it("a plain vertex edit sends no clicks (the server keeps them)", async () => {
    const s = setup(stored());
    s.edits.selected = s.obj.localId;
    s.edits.moveVertex({ polygon: 0, ring: -1, index: 0 }, 2, 2, true);
    await s.settled();
    expect(s.api.updated).toHaveLength(1);
    expect(s.api.updated[0]).not.toHaveProperty("clicks");
  });

  it("a new object is created with its clicks and then shows the server's number", async () => {
    const s = setup(stored());
    const { newObject } = await import("../src/objects");
    const obj = newObject(2, square, 1, 1, CLICKS);
    expect(obj.number).toBeNull();
    s.edits.add(obj);
    await s.settled();
    expect(s.api.created[0]).toMatchObject({ clicks: CLICKS, clicks_used: 1, source: "interactive" });
    expect(obj.number).toBe(2);
    expect(obj.authorName).toBe("ann");
  });

  it("the journal keeps a re-segmentation's clicks across a reload", () => {
    const server = stored();
    const edit = { localId: "s7", imageId: 1, serverId: 7, baseVersion: 4, label: 2, polygons: square, clicks: [...CLICKS, CLICKS[0]], clicksChanged: true, deleted: false, clicksUsed: 2, secondsSpent: 3, maybeOnServer: false, journaledAt: 0 };
    const [obj] = replay([server], [edit]);
    expect(obj).toMatchObject({ clicks: edit.clicks, clicksChanged: true, polygons: square, dirty: true, number: 3 });
    const old = { ...edit, clicks: undefined, clicksChanged: undefined }; // journaled before objects had clicks
    expect(replay([server], [old])[0].clicks).toEqual(CLICKS);
  });
});
