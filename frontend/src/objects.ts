/** The annotator's objects on the open image, as held by the browser (server state + unsaved edits). */

import type { ServerObject } from "./api";
import type { Click } from "./messages";
import type { Shape } from "./polygon";

export interface LocalObject {
  localId: string; // stable in the browser; also the journal key
  serverId: number | null; // null until created on the server
  version: number | null; // the server version the local state is based on
  number: number | null; // the server's per-image number (null until created: shown as "new")
  slice: number; // the slice of a stack it lies on (0 for a 2-D image)
  label: number;
  polygons: Shape;
  clicks: Click[]; // the clicks the shape was computed from ([] for a drawn or imported object)
  clicksChanged: boolean; // recomputed from clicks since the last save: the next save sends `clicks`
  deleted: boolean; // deleted locally, not yet on the server
  dirty: boolean; // the server does not have the local state yet
  edits: number; // grows with every local change (a save only clears `dirty` if no edit came meanwhile)
  clicksUsed: number;
  secondsSpent: number;
  authorName: string | null; // the creator (null: this browser's user, not yet saved)
  visible: boolean;
  maybeOnServer: boolean; // a create was sent but its answer never came (its retry, same client key, returns it)
  problem: string | null; // the server refused the change (shown; retried after the next edit)
  restoreFrom?: { id: number; version: number } | null; // undone after its delete was saved: restore that object
}

export function fromServer(o: ServerObject): LocalObject {
  return {
    localId: `s${o.id}`,
    serverId: o.id,
    version: o.version,
    number: o.number ?? null,
    slice: o.slice ?? 0,
    label: o.label,
    polygons: o.polygons,
    clicks: Array.isArray(o.clicks) ? o.clicks : [],
    clicksChanged: false,
    deleted: false,
    dirty: false,
    edits: 0,
    clicksUsed: o.clicks_used,
    secondsSpent: o.seconds_spent,
    authorName: o.author_name ?? null,
    visible: true,
    maybeOnServer: false,
    problem: null,
  };
}

/** What a save answered that the browser shows: the number, the author, the stored clicks. */
export function takeServerFields(obj: LocalObject, saved: ServerObject): void {
  obj.number = saved.number ?? obj.number;
  obj.authorName = saved.author_name ?? obj.authorName;
}

export function newObject(label: number, polygons: Shape, clicksUsed: number, secondsSpent: number, clicks: Click[] = [], slice = 0): LocalObject {
  const id = globalThis.crypto?.randomUUID?.() ?? `${Date.now()}-${Math.random().toString(36).slice(2)}`;
  return {
    localId: `n${id}`,
    serverId: null,
    version: null,
    number: null,
    slice,
    label,
    polygons,
    clicks,
    clicksChanged: false, // a create always sends its clicks
    deleted: false,
    dirty: true,
    edits: 1,
    clicksUsed,
    secondsSpent,
    authorName: null,
    visible: true,
    maybeOnServer: false,
    problem: null,
  };
}
