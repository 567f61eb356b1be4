/**
 * Autosave: every local change is journaled first, then sent to the server one object at a time, over REST
 * only (an object finished from clicks is created here too: source "interactive", its clicks, clicks_used and
 * seconds_spent, its localId as the client key that makes a repeated create return the first object; an object
 * re-segmented from its clicks is a PATCH with the new polygons and clicks).
 * Unreachable server → retried with backoff (and when the browser comes back online); expired session →
 * stops and asks to log in again (the journal replays afterwards); 409 → the annotator chooses. 423 (someone else
 * holds the object's lease) and a lease of ours lost while its edit was unsaved are conflicts too: the edit stays
 * in the journal, is shown, and is saved again once the lease is free (or the annotator chooses).
 */

import { ApiError, NetworkError, type ObjectApi, type ObjectUpdate, type ServerObject } from "./api";
import { type Person, parsePerson } from "./collabMessages";
import { type Journal, pendingOf } from "./journal";
import { type LocalObject, takeServerFields } from "./objects";
import { sameShape } from "./polygon";

export type SaveState = "saved" | "unsaved" | "saving" | "offline" | "auth" | "conflict" | "error";

/** Why a conflict is about a lease: someone else holds it (a 423), or ours was broken or expired. */
export interface LockTrouble {
  reason: "leased" | "broken" | "expired";
  person: Person | null; // the holder (leased) or who broke it
}

export interface Conflict {
  obj: LocalObject;
  current: ServerObject | null; // null: someone deleted the object (unless `lock` says what happened)
  lock?: LockTrouble;
}

export interface SaverHost {
  objects(): LocalObject[];
  removeLocal(obj: LocalObject): void;
  changed(obj: LocalObject): void;
  status(state: SaveState, unsaved: number, message: string): void;
  conflict(conflict: Conflict): void;
  cleared?(conflict: Conflict): void; // a lock conflict went away by itself (the lease is free): its dialog closes
}

const MAX_BACKOFF_MS = 8000;

/**
 * The server's object, when a stale-version answer shows it already holds exactly this local state: a save
 * that reached the server although the browser saw it fail (connection lost before the answer, a tab closed
 * meanwhile). Taking it as saved is not an overwrite; anything else stays a conflict for the annotator.
 */
export function alreadySaved(obj: LocalObject, exc: unknown): ServerObject | null {
  if (!(exc instanceof ApiError) || exc.status !== 409 || obj.deleted || obj.serverId === null) return null;
  const current = (exc.details?.current as ServerObject | undefined) ?? null;
  if (!current || current.id !== obj.serverId || current.label !== obj.label) return null;
  return sameShape(current.polygons, obj.polygons, 1e-3) ? current : null;
}

export class Saver {
  private running = false;
  private again = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private backoff = 500;
  offline = false;
  authLost = false;
  readonly conflicts = new Map<string, Conflict>();
  lastError = "";

  constructor(
    private readonly imageId: number,
    private readonly api: ObjectApi,
    private readonly journal: Journal,
    private readonly host: SaverHost,
  ) {}

  /** Record a local change: journal it, then save soon. */
  async touch(obj: LocalObject, delayMs = 300): Promise<void> {
    obj.edits += 1;
    obj.dirty = true;
    obj.problem = null;
    await this.journal.put(pendingOf(obj, this.imageId));
    this.report();
    this.schedule(delayMs);
  }

  schedule(delayMs = 0): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, delayMs);
  }

  get unsaved(): number {
    return this.host.objects().filter((o) => o.dirty).length;
  }

  state(): SaveState {
    if (this.authLost) return "auth";
    if (this.conflicts.size) return "conflict";
    if (this.offline) return "offline";
    if (this.running) return "saving";
    if (this.host.objects().some((o) => o.dirty && o.problem)) return "error";
    return this.unsaved ? "unsaved" : "saved";
  }

  private report(): void {
    this.host.status(this.state(), this.unsaved, this.lastError);
  }

  /** Save every dirty object (one request at a time); safe to call at any moment. */
  async flush(): Promise<void> {
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.authLost) return this.report();
    this.running = true;
    this.report();
    try {
      for (;;) {
        this.again = false;
        const todo = this.host.objects().filter((o) => o.dirty && !o.problem && !this.conflicts.has(o.localId));
        for (const obj of todo) {
          if (!(await this.saveOne(obj))) return; // stop on offline / auth: later retries take the rest
        }
        if (!this.again) break;
      }
    } finally {
      this.running = false;
      this.report();
    }
  }

  /** False when saving must pause (server unreachable or session expired). */
  private async saveOne(obj: LocalObject): Promise<boolean> {
    const edits = obj.edits;
    let result: ServerObject | "removed";
    try {
      result = await this.send(obj);
    } catch (exc) {
      const current = alreadySaved(obj, exc);
      if (!current) return this.failed(obj, exc);
      result = current; // an earlier save of this very state reached the server, its answer did not reach us
    }
    this.offline = false;
    this.backoff = 500;
    this.lastError = "";
    if (result === "removed") {
      this.host.removeLocal(obj);
      await this.journal.remove(obj.localId);
      return true;
    }
    obj.serverId = result.id;
    obj.version = result.version;
    obj.maybeOnServer = false;
    takeServerFields(obj, result);
    if (obj.edits === edits) {
      obj.dirty = false;
      obj.clicksChanged = false;
      await this.journal.remove(obj.localId);
    } else {
      await this.journal.put(pendingOf(obj, this.imageId)); // newer edits: based on the new version now
      this.again = true;
    }
    this.host.changed(obj);
    return true;
  }

  private async send(obj: LocalObject): Promise<ServerObject | "removed"> {
    if (obj.serverId === null) {
      if (obj.deleted && !obj.maybeOnServer) return "removed";
      const restored = await this.restore(obj);
      if (restored) return restored;
      obj.maybeOnServer = true;
      await this.journal.put(pendingOf(obj, this.imageId));
      // The object's localId is its client key: if an earlier create reached the server but its answer was
      // lost, this one returns that object instead of making a second.
      const saved = await this.api.create({
        label: obj.label,
        ...(obj.slice ? { slice: obj.slice } : {}),
        polygons: obj.polygons,
        source: obj.clicksUsed > 0 ? "interactive" : "manual",
        clicks: obj.clicks,
        clicks_used: obj.clicksUsed,
        seconds_spent: obj.secondsSpent,
        client_key: obj.localId,
      });
      if (obj.deleted) {
        await this.api.remove(saved.id, saved.version);
        return "removed";
      }
      if (saved.label !== obj.label || !sameShape(saved.polygons, obj.polygons, 1e-3)) obj.edits += 1; // newer than that create
      return saved;
    }
    if (obj.deleted) {
      await this.api.remove(obj.serverId, obj.version ?? 0);
      return "removed";
    }
    const body: ObjectUpdate = { version: obj.version ?? 0, label: obj.label, polygons: obj.polygons };
    // Recomputed from clicks (or such a change undone): the clicks go along; a plain vertex edit keeps the stored ones.
    if (obj.clicksChanged) Object.assign(body, { clicks: obj.clicks, clicks_used: obj.clicksUsed, seconds_spent: obj.secondsSpent });
    return this.api.update(obj.serverId, body);
  }

  /** The server object an undone delete was saved for, brought back under its id (null: create it anew). */
  private async restore(obj: LocalObject): Promise<ServerObject | null> {
    const from = obj.restoreFrom;
    if (!from) return null;
    try {
      const restored = await this.api.restore(from.id, from.version);
      obj.restoreFrom = null;
      if (restored.label !== obj.label || !sameShape(restored.polygons, obj.polygons, 1e-3)) obj.edits += 1;
      return restored;
    } catch (exc) {
      // Changed or restored by someone else, or its label is gone: the object is created anew instead.
      if (exc instanceof ApiError && (exc.status === 404 || exc.status === 409)) {
        obj.restoreFrom = null;
        return null;
      }
      throw exc;
    }
  }

  private failed(obj: LocalObject, exc: unknown): boolean {
    if (exc instanceof ApiError && exc.status < 500 && this.offline) {
      this.offline = false; // the server answered (a 409, a 423…): it is reachable again
      this.backoff = 500;
      this.lastError = "";
    }
    if (exc instanceof NetworkError || (exc instanceof ApiError && exc.status >= 500)) {
      this.offline = true;
      this.lastError = "Server unreachable — edits are kept in this browser and saved when it is back.";
      this.schedule(this.backoff);
      this.backoff = Math.min(MAX_BACKOFF_MS, this.backoff * 2);
      return false;
    }
    if (exc instanceof ApiError && exc.status === 401) {
      this.authLost = true;
      this.lastError = "Your session expired — log in again; your edits are kept in this browser.";
      return false;
    }
    if (exc instanceof ApiError && exc.status === 423) {
      this.addConflict({ obj, current: null, lock: { reason: "leased", person: parsePerson(exc.body?.holder) } });
      return true;
    }
    if (exc instanceof ApiError && exc.status === 409) {
      const current = (exc.details?.current as ServerObject | undefined) ?? null;
      this.addConflict({ obj, current });
      return true;
    }
    if (exc instanceof ApiError && exc.status === 404 && obj.serverId !== null) {
      if (obj.deleted) {
        this.host.removeLocal(obj); // already gone: what the annotator wanted
        void this.journal.remove(obj.localId);
        return true;
      }
      this.addConflict({ obj, current: null });
      return true;
    }
    obj.problem = exc instanceof ApiError ? exc.detail : String(exc);
    this.lastError = `Not saved: ${obj.problem}`;
    this.host.changed(obj);
    return true;
  }

  private addConflict(conflict: Conflict): void {
    this.conflicts.set(conflict.obj.localId, conflict);
    this.host.conflict(conflict);
  }

  /** The lease of an object whose save met a 423 is free now: save it again (it may meet a 409 next). */
  leaseFreed(obj: LocalObject): void {
    const conflict = this.conflicts.get(obj.localId);
    if (conflict?.lock?.reason !== "leased") return;
    this.conflicts.delete(obj.localId);
    this.host.cleared?.(conflict);
    this.report();
    this.schedule(0);
  }

  /** Our lease on `obj` was broken or expired while it had unsaved edits: kept, and the annotator decides. */
  leaseLost(obj: LocalObject, reason: "broken" | "expired", by: Person | null): void {
    if (!obj.dirty || this.conflicts.has(obj.localId)) return;
    this.addConflict({ obj, current: null, lock: { reason, person: by } });
    this.report();
  }

  /** The annotator's answer to a conflict: keep their version (saved over the current one) or take the server's. */
  async resolve(obj: LocalObject, choice: "mine" | "theirs"): Promise<void> {
    const conflict = this.conflicts.get(obj.localId);
    if (!conflict) return;
    this.conflicts.delete(obj.localId);
    if (conflict.lock) return this.resolveLock(conflict, choice);
    const current = conflict.current;
    if (choice === "mine") {
      if (current) obj.version = current.version;
      else if (obj.deleted) {
        this.host.removeLocal(obj);
        await this.journal.remove(obj.localId);
        this.report();
        return;
      } else {
        obj.serverId = null; // deleted by someone else: create it again
        obj.version = null;
      }
      await this.touch(obj, 0);
      return;
    }
    if (current) {
      Object.assign(obj, { label: current.label, polygons: current.polygons, version: current.version, deleted: false, dirty: false });
      Object.assign(obj, { clicks: current.clicks ?? obj.clicks, clicksChanged: false });
      takeServerFields(obj, current);
      this.host.changed(obj);
    } else {
      this.host.removeLocal(obj);
    }
    await this.journal.remove(obj.localId);
    this.report();
    this.schedule(0);
  }

  /** A lock conflict: "mine" saves the edit now (the versions decide); "theirs" drops it for the server's state. */
  private async resolveLock(conflict: Conflict, choice: "mine" | "theirs"): Promise<void> {
    const obj = conflict.obj;
    if (choice === "mine") return this.touch(obj, 0);
    let current: ServerObject | null;
    try {
      current = (await this.api.list()).find((o) => o.id === obj.serverId) ?? null;
    } catch (exc) {
      this.conflicts.set(obj.localId, conflict); // not reachable: nothing is dropped; asked again
      this.host.conflict(conflict);
      this.lastError = exc instanceof ApiError ? exc.detail : "Server unreachable — try again.";
      this.report();
      return;
    }
    this.conflicts.set(obj.localId, { obj, current });
    await this.resolve(obj, "theirs");
  }

  /** After logging in again (another tab) or coming back online: try now. */
  retry(): void {
    this.authLost = false;
    this.schedule(0);
  }
}
