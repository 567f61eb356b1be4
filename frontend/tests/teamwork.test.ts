import { beforeEach, describe, expect, it } from "vitest";
import type { ServerObject } from "../src/api";
import { collabReady, type Person } from "../src/collabMessages";
import type { ClientMessage } from "../src/messages";
import { fromServer, type LocalObject } from "../src/objects";
import type { Shape } from "../src/polygon";
import { Teamwork } from "../src/teamwork";

/** Just enough of a DOM for the two elements teamwork writes to (node tests, no browser). */
class FakeElement {
  dataset: Record<string, string> = {};
  attrs: Record<string, string> = {};
  children: unknown[] = [];
  textContent = "";
  hidden = false;
  title = "";
  className = "";
  setAttribute(k: string, v: string) {
    this.attrs[k] = v;
  }
  addEventListener() {}
  append(...c: unknown[]) {
    this.children.push(...c);
  }
  replaceChildren(...c: unknown[]) {
    this.children = c;
  }
}
const elements: Record<string, FakeElement> = {};
beforeEach(() => {
  for (const id of ["ws-viewers", "ws-lock-message"]) elements[id] = new FakeElement();
  (globalThis as unknown as { document: unknown }).document = { getElementById: (id: string) => elements[id] ?? null, createElement: () => new FakeElement() };
});

const tri: Shape = [{ outer: [[1, 1], [9, 1], [5, 8]], holes: [] }];
const ANN = { id: 7, name: "ann", colour: "#1f77b4" };
const BOB = { id: 8, name: "bob", colour: "#ff7f0e" };
const server = (id: number, version: number, extra: Partial<ServerObject> = {}): ServerObject => ({
  id, image: 1, label: 1, polygons: tri, area: 1, author: 1, clicks_used: 0, seconds_spent: 0, version, number: id, ...extra,
});
const ready = (extra: object = {}) => collabReady({ you: ANN, viewers: [], leases: [], lease_ttl_s: 45, heartbeat_s: 15, ...extra });

function setup(list: ServerObject[] = [server(1, 1), server(2, 1)]) {
  const sent: ClientMessage[] = [];
  const lost: [LocalObject, string, Person | null][] = [];
  const freed: LocalObject[] = [];
  const state = { objects: list.map(fromServer), selected: null as string | null, connected: true, server: list };
  const team = new Teamwork({
    send: (msg) => (sent.push(msg), true),
    connected: () => state.connected,
    objects: () => state.objects,
    setObjects: (o) => (state.objects = o),
    selected: () => state.objects.find((o) => o.localId === state.selected),
    underWay: () => undefined,
    setSelected: (id) => (state.selected = id),
    list: async () => state.server,
    redraw: () => undefined,
    flash: () => undefined,
    leaseFreed: (obj) => freed.push(obj),
    leaseLost: (obj, reason, by) => lost.push([obj, reason, by]),
    imageChanged: () => undefined,
    commentAdded: () => undefined,
  });
  return { team, sent, lost, freed, state };
}

describe("teamwork in the workspace", () => {
  it("selects a saved object at once and asks for its lease; releases it on deselect", () => {
    const { team, sent, state } = setup();
    team.ready(ready());
    const obj = state.objects[0];
    expect(team.request(obj)).toBe(true);
    state.selected = obj.localId; // the workspace selects it, and its redraw syncs the lease
    team.sync();
    expect(sent).toContainEqual({ type: "lease", object: 1 });
    team.message({ type: "leases", leases: [{ object: 1, holder: ANN, mine: true }] });
    expect(state.selected).toBe(obj.localId);
    state.selected = null;
    team.sync();
    expect(sent[sent.length - 1]).toEqual({ type: "release", object: 1 });
  });

  it("deselects on a refusal, says who holds the object, and keeps the edit made meanwhile for the save", () => {
    const { team, sent, state, freed } = setup();
    team.ready(ready());
    const obj = state.objects[0];
    expect(team.request(obj)).toBe(true);
    state.selected = obj.localId;
    team.sync();
    obj.dirty = true; // edited before the answer came
    obj.polygons = [{ outer: [[2, 2], [8, 2], [5, 7]], holes: [] }];
    team.message({ type: "lease_refused", object: 1, holder: BOB, message: "bob is editing this object." });
    expect(state.selected).toBeNull();
    expect(elements["ws-lock-message"]).toMatchObject({ hidden: false, textContent: "Locked by bob" });
    expect(state.objects[0]).toMatchObject({ dirty: true, polygons: obj.polygons }); // the saver meets 423 with it
    expect(freed).toEqual([]);
    expect(team.request(obj)).toBe(false); // locked now: not selectable, and no lease asked again
    expect(sent.filter((m) => m.type === "lease")).toEqual([{ type: "lease", object: 1 }]);
    team.message({ type: "leases", leases: [] }); // bob is done: the kept edit may be saved
    expect(freed).toEqual([state.objects[0]]);
  });

  it("deselects when the lease list names someone else as the holder before the refusal comes", () => {
    const { team, state } = setup();
    team.ready(ready());
    expect(team.request(state.objects[1])).toBe(true);
    state.selected = state.objects[1].localId;
    team.sync();
    team.message({ type: "leases", leases: [{ object: 2, holder: BOB, mine: false }] });
    expect(state.selected).toBeNull();
    expect(elements["ws-lock-message"].textContent).toBe("Locked by bob");
  });

  it("on a read-only socket asks for no lease but keeps its presence alive", () => {
    const { team, sent, state } = setup();
    team.ready(ready({ can_edit: false }));
    expect(team.editable).toBe(false);
    state.selected = state.objects[0].localId;
    team.sync();
    expect(sent).toEqual([]);
    expect(team.state()).toMatchObject({ leasing: false, canEdit: false });
    team.closed();
  });

  it("refuses someone else's object and says who holds it", () => {
    const { team, sent, state } = setup();
    team.ready(ready({ leases: [{ object: 2, holder: BOB, mine: false }] }));
    expect(team.request(state.objects[1])).toBe(false);
    expect(sent.filter((m) => m.type === "lease")).toEqual([]);
    expect(elements["ws-lock-message"]).toMatchObject({ hidden: false, textContent: "Locked by bob" });
    expect(team.holderOf(state.objects[1])).toEqual(BOB);
    expect(team.request(state.objects[0])).toBe(true);
    state.selected = state.objects[0].localId;
    team.sync();
    team.message({ type: "lease_refused", object: 1, holder: BOB, message: "" });
    expect(state.selected).toBeNull();
    expect(elements["ws-lock-message"].textContent).toBe("Locked by bob");
  });

  it("edits without a lease when the server does not speak leases", () => {
    const { team, state } = setup();
    team.ready(collabReady({}));
    expect(team.request(state.objects[0])).toBe(true);
  });

  it("hands a lost lease with an unsaved edit to the conflict flow and deselects", () => {
    const { team, lost, state } = setup();
    team.ready(ready({ leases: [{ object: 1, holder: ANN, mine: true }] }));
    state.selected = state.objects[0].localId;
    state.objects[0].dirty = true;
    team.message({ type: "lease_lost", object: 1, reason: "broken", by: BOB });
    expect(lost).toEqual([[state.objects[0], "broken", BOB]]);
    expect(state.selected).toBeNull();
  });

  it("lets a refused save go once nobody else holds the object", () => {
    const { team, freed, state } = setup();
    team.ready(ready({ leases: [{ object: 1, holder: BOB, mine: false }] }));
    state.objects[0].dirty = true;
    expect(freed).toEqual([]);
    team.message({ type: "leases", leases: [] });
    expect(freed).toEqual([state.objects[0]]);
  });

  it("applies others' changes live and catches up from the list on ready", async () => {
    const { team, state } = setup();
    team.message({ type: "object_changed", action: "created", object: server(3, 1), by: BOB });
    expect(state.objects.map((o) => o.serverId)).toEqual([1, 2, 3]);
    state.server = [server(1, 2, { label: 4 }), server(3, 1)];
    team.ready(ready());
    await new Promise((r) => setTimeout(r, 0));
    expect(state.objects.map((o) => [o.serverId, o.version])).toEqual([[1, 2], [3, 1]]);
    expect(team.state().refetches).toBe(1);
  });

  it("shows who else is on the image", () => {
    const { team } = setup();
    team.ready(ready({ viewers: [{ ...BOB, role: "reviewer" }] }));
    expect(elements["ws-viewers"].dataset.count).toBe("1");
    const badge = elements["ws-viewers"].children[0] as FakeElement;
    expect(badge.attrs).toMatchObject({ "data-user-id": "8", style: "background:#ff7f0e;color:#000000" });
    team.closed();
  });
});
