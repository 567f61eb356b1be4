/**
 * The journal of unsaved edits, kept in IndexedDB so that work survives a dropped connection, an expired
 * session, a crash or a closed tab. One record per object with unsaved changes (its latest local state and
 * the server version it is based on); a record is removed once the server has that state.
 */

import type { ServerObject } from "./api";
import type { Click } from "./messages";
import { type LocalObject, fromServer } from "./objects";
import type { Shape } from "./polygon";

export interface PendingEdit {
  localId: string;
  imageId: number;
  serverId: number | null;
  baseVersion: number | null;
  label: number;
  slice?: number; // absent in records journaled before objects lay on slices (slice 0)
  polygons: Shape;
  clicks?: Click[]; // absent in records journaled before objects kept their clicks
  clicksChanged?: boolean;
  deleted: boolean;
  clicksUsed: number;
  secondsSpent: number;
  maybeOnServer: boolean;
  journaledAt: number;
}

export interface Journal {
  pending(imageId: number): Promise<PendingEdit[]>;
  put(edit: PendingEdit): Promise<void>;
  remove(localId: string): Promise<void>;
}

export function pendingOf(obj: LocalObject, imageId: number): PendingEdit {
  return {
    localId: obj.localId,
    imageId,
    serverId: obj.serverId,
    baseVersion: obj.version,
    label: obj.label,
    slice: obj.slice,
    polygons: obj.polygons,
    clicks: obj.clicks,
    clicksChanged: obj.clicksChanged,
    deleted: obj.deleted,
    clicksUsed: obj.clicksUsed,
    secondsSpent: obj.secondsSpent,
    maybeOnServer: obj.maybeOnServer,
    journaledAt: Date.now(),
  };
}

/**
 * The objects to show after loading: the server's, with the journal's unsaved edits laid over them. An edit
 * keeps the version it was based on, so if someone else changed the object meanwhile, saving it gets a 409
 * and the annotator chooses — a replay never silently overwrites.
 */
export function replay(server: ServerObject[], pending: PendingEdit[]): LocalObject[] {
  const objects = server.map(fromServer);
  for (const edit of pending) {
    const restored: Partial<LocalObject> = {
      label: edit.label,
      slice: edit.slice ?? 0,
      polygons: edit.polygons,
      deleted: edit.deleted,
      clicksUsed: edit.clicksUsed,
      secondsSpent: edit.secondsSpent,
      dirty: true,
      edits: 1,
      ...(edit.clicks ? { clicks: edit.clicks, clicksChanged: edit.clicksChanged ?? false } : {}),
    };
    const existing = edit.serverId !== null ? objects.find((o) => o.serverId === edit.serverId) : undefined;
    if (existing) {
      Object.assign(existing, restored, { localId: edit.localId, version: edit.baseVersion });
      continue;
    }
    // A create that reached the server although its answer was lost: the server keeps our client key.
    const created = edit.serverId === null ? server.find((s) => s.client_key === edit.localId) : undefined;
    const createdHere = created && objects.find((o) => o.serverId === created.id);
    if (createdHere) {
      Object.assign(createdHere, restored, { localId: edit.localId, version: 1 }); // based on what it created
      continue;
    }
    // Created locally and never confirmed, or gone from the server (the save will ask what to do).
    objects.push({
      ...fromServer({ id: 0, image: edit.imageId, label: edit.label, polygons: edit.polygons, area: 0, author: null, clicks_used: 0, seconds_spent: 0, version: 0 }),
      ...restored,
      localId: edit.localId,
      serverId: edit.serverId,
      version: edit.baseVersion,
      maybeOnServer: edit.maybeOnServer || edit.serverId === null,
    });
  }
  return objects;
}


/** IndexedDB-backed journal (one database per origin, records indexed by image). */
export class IndexedDbJournal implements Journal {
  private db: Promise<IDBDatabase>;

  constructor(name = "edgeflow-journal") {
    this.db = new Promise((resolve, reject) => {
      const open = indexedDB.open(name, 1);
      open.onupgradeneeded = () => {
        const store = open.result.createObjectStore("pending", { keyPath: "localId" });
        store.createIndex("imageId", "imageId");
      };
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
    });
  }

  private async run<T>(mode: IDBTransactionMode, work: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
    const db = await this.db;
    return new Promise((resolve, reject) => {
      const tx = db.transaction("pending", mode);
      const req = work(tx.objectStore("pending"));
      tx.oncomplete = () => resolve(req.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  }

  pending(imageId: number): Promise<PendingEdit[]> {
    return this.run("readonly", (s) => s.index("imageId").getAll(imageId) as IDBRequest<PendingEdit[]>);
  }

  async put(edit: PendingEdit): Promise<void> {
    await this.run("readwrite", (s) => s.put(JSON.parse(JSON.stringify(edit))));
  }

  async remove(localId: string): Promise<void> {
    await this.run("readwrite", (s) => s.delete(localId));
  }
}

/** For tests and for browsers without IndexedDB (private modes): same contract, in memory. */
export class MemoryJournal implements Journal {
  readonly records = new Map<string, PendingEdit>();

  async pending(imageId: number): Promise<PendingEdit[]> {
    return [...this.records.values()].filter((r) => r.imageId === imageId);
  }

  async put(edit: PendingEdit): Promise<void> {
    this.records.set(edit.localId, structuredClone(edit));
  }

  async remove(localId: string): Promise<void> {
    this.records.delete(localId);
  }
}
