/** The annotator's objects on the open image, as held by the browser (server state + unsaved edits). */

import type { ServerObject } from "./api";
import type { Shape } from "./polygon";

export interface LocalObject {
  localId: string; // stable in the browser; also the journal key
  serverId: number | null; // null until created on the server
  version: number | null; // the server version the local state is based on
  label: number;
  polygons: Shape;
  deleted: boolean; // deleted locally, not yet on the server
  dirty: boolean; // the server does not have the local state yet
  edits: number; // grows with every local change (a save only clears `dirty` if no edit came meanwhile)
  clicksUsed: number;
  secondsSpent: number;
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
    label: o.label,
    polygons: o.polygons,
    deleted: false,
    dirty: false,
    edits: 0,
    clicksUsed: o.clicks_used,
    secondsSpent: o.seconds_spent,
    visible: true,
    maybeOnServer: false,
    problem: null,
  };
}

export function newObject(label: number, polygons: Shape, clicksUsed: number, secondsSpent: number): LocalObject {
  const id = globalThis.crypto?.randomUUID?.() ?? `${Date.now()}-${Math.random().toString(36).slice(2)}`;
  return {
    localId: `n${id}`,
    serverId: null,
    version: null,
    label,
    polygons,
    deleted: false,
    dirty: true,
    edits: 1,
    clicksUsed,
    secondsSpent,
    visible: true,
    maybeOnServer: false,
    problem: null,
  };
}
