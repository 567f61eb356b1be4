/**
 * Other people's saved changes merged into the objects this browser holds — one `object_changed`, or the server's
 * whole list refetched after a reconnect. Versions decide: news of a version already known is ignored; a dirty
 * local object (unsaved edits, a conflict) and the object under way (re-opened for clicks) are never touched —
 * their next save meets the server's version (409 → the conflict dialog). Objects are updated in place (undo
 * entries and the saver hold them); the list returned is the new array.
 */

import type { ServerObject } from "./api";
import type { ObjectAction } from "./collabMessages";
import { fromServer, type LocalObject } from "./objects";

export interface MergeContext {
  busy: string | null; // the localId of the object under way
  known: Map<number, number>; // server id → the highest version seen, also of objects gone here (stale news is ignored)
}

export type Outcome = "added" | "updated" | "removed" | "ignored";

export interface Merged {
  objects: LocalObject[];
  outcome: Outcome;
}

function remember(known: Map<number, number>, id: number, version: number): void {
  known.set(id, Math.max(known.get(id) ?? 0, version));
}

/** Stale: a version this browser already has (a deletion counts from the version it was made at). */
function stale(ctx: MergeContext, local: LocalObject | undefined, action: ObjectAction, server: ServerObject): boolean {
  const have = Math.max(local?.version ?? 0, ctx.known.get(server.id) ?? 0);
  return action === "deleted" ? server.version < have || (!local && server.version <= have) : server.version <= have;
}

/** The server's state of an object laid over the local one (which has no unsaved edits). */
function take(obj: LocalObject, server: ServerObject): void {
  Object.assign(obj, fromServer(server), { localId: obj.localId, visible: obj.visible, edits: obj.edits });
}

export function applyChange(objects: LocalObject[], action: ObjectAction, server: ServerObject, ctx: MergeContext): Merged {
  const ignored = { objects, outcome: "ignored" as const };
  const local = objects.find((o) => o.serverId === server.id);
  // Our own create or restore whose answer has not come yet: the saver takes the object from that answer.
  const ours = (o: LocalObject) => o.serverId === null && ((!!server.client_key && o.localId === server.client_key) || o.restoreFrom?.id === server.id);
  if (!local && objects.some(ours)) return ignored;
  if (stale(ctx, local, action, server)) return ignored;
  if (local && (local.dirty || local.localId === ctx.busy)) return ignored;
  remember(ctx.known, server.id, server.version);
  if (action === "deleted") return local ? { objects: objects.filter((o) => o !== local), outcome: "removed" } : ignored;
  if (!local) return { objects: [...objects, fromServer(server)], outcome: "added" };
  take(local, server);
  return { objects, outcome: "updated" };
}

/**
 * The server's whole list (refetched after a reconnect) merged in: newer versions taken, new objects added, clean
 * objects missing from it removed — except those `since` names (changed by a message after the list was asked for).
 */
export function mergeList(objects: LocalObject[], list: ServerObject[], ctx: MergeContext, since: ReadonlySet<number> = new Set()): { objects: LocalObject[]; changed: boolean } {
  let changed = false;
  for (const server of list) {
    const merged = applyChange(objects, "updated", server, ctx);
    objects = merged.objects;
    changed ||= merged.outcome !== "ignored";
  }
  const ids = new Set(list.map((s) => s.id));
  const gone = (o: LocalObject) => o.serverId !== null && !ids.has(o.serverId) && !since.has(o.serverId) && !o.dirty && o.localId !== ctx.busy;
  const kept = objects.filter((o) => !gone(o));
  for (const o of objects) if (gone(o)) remember(ctx.known, o.serverId!, o.version ?? 0);
  return { objects: kept, changed: changed || kept.length !== objects.length };
}

/** A plain list of server objects (the review page) with a change applied: a new array, or the same when stale. */
export function applyToList<T extends ServerObject>(list: T[], action: ObjectAction, server: T, known: Map<number, number>): T[] {
  const index = list.findIndex((o) => o.id === server.id);
  const have = Math.max(index >= 0 ? list[index].version : 0, known.get(server.id) ?? 0);
  if (action === "deleted" ? server.version < have || (index < 0 && server.version <= have) : server.version <= have) return list;
  remember(known, server.id, server.version);
  if (action === "deleted") return index < 0 ? list : list.filter((o) => o.id !== server.id);
  if (index < 0) return [...list, server];
  return list.map((o, i) => (i === index ? server : o));
}
