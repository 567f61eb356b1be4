/**
 * The workspace's part in teamwork (docs: collab protocol): who else has the image open (presence.ts), the object
 * leases (leases.ts: selecting a saved object is instant and asks for its lease; a refusal deselects it, and
 * someone else's known lease locks it),
 * the heartbeat that keeps the lease and the presence alive, and other people's saved changes merged in
 * (remoteChanges.ts) — live, and from the server's list on every (re)connection.
 */

import type { ServerObject } from "./api";
import type { CollabReady, CommentAddedMessage, DisplayChangedMessage, ImageChangedMessage, Person } from "./collabMessages";
import { byId } from "./dom";
import { LeaseBook, lockText } from "./leases";
import type { Holder } from "./leaseTags";
import type { ClientMessage, ServerMessage } from "./messages";
import type { LocalObject } from "./objects";
import { renderViewers } from "./presence";
import { applyChange, mergeList } from "./remoteChanges";

export interface TeamworkHost {
  send(msg: ClientMessage): boolean;
  connected(): boolean;
  objects(): LocalObject[];
  setObjects(objects: LocalObject[]): void; // and a selected object gone from them is deselected
  selected(): LocalObject | undefined;
  underWay(): LocalObject | undefined; // the object re-opened for clicks
  setSelected(localId: string | null): void; // no lease checks (a refusal deselects)
  list(): Promise<ServerObject[]>;
  redraw(): void;
  flash(message: string): void;
  leaseFreed(obj: LocalObject): void; // a save refused with 423 may go now
  leaseLost(obj: LocalObject, reason: "broken" | "expired", by: Person | null): void;
  imageChanged(msg: ImageChangedMessage): void;
  commentAdded(msg: CommentAddedMessage): void;
  displayChanged?(msg: DisplayChangedMessage): void;
}

export class Teamwork {
  readonly book = new LeaseBook();
  private you: Person | null = null;
  private leasing = false; // the server speaks leases (an older one does not: objects are edited without)
  private heartbeat: ReturnType<typeof setInterval> | null = null;
  private canEdit = true; // the socket said this user may edit the image (false: read-only)
  canBreak = false; // a manager: may take over an object someone else holds (the holder keeps its edit as a conflict)
  private readonly known = new Map<number, number>(); // server id → highest version seen
  private since: Set<number> | null = null; // ids changed by messages while the list is being refetched
  refetches = 0;

  constructor(private readonly host: TeamworkHost) {}

  // ------------------------------------------------------------------ the connection
  /** `ready` (first or again): the leases and viewers as they are now, the heartbeat, the objects caught up. */
  ready(team: CollabReady): void {
    this.you = team.you;
    this.leasing = team.collab && team.can_edit;
    this.canEdit = team.can_edit;
    this.canBreak = team.can_break_leases && team.can_edit;
    this.book.replace(team.leases);
    renderViewers(byId("ws-viewers"), team.viewers);
    this.stopHeartbeat();
    if (team.collab) this.heartbeat = setInterval(() => this.host.send({ type: "heartbeat" }), team.heartbeat_s * 1000);
    void this.refetch();
    this.leasesChanged();
  }

  closed(): void {
    this.stopHeartbeat();
  }

  private stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }

  /** A teamwork message handled (true), or not one (false: the click session's). */
  message(msg: ServerMessage): boolean {
    switch (msg.type) {
      case "viewers":
        renderViewers(byId("ws-viewers"), msg.viewers);
        return true;
      case "leases":
        this.book.replace(msg.leases);
        this.leasesChanged();
        return true;
      case "lease_refused":
        this.refused(msg.object, msg.holder, msg.message);
        return true;
      case "lease_lost":
        this.lost(msg.object, msg.reason, msg.by);
        return true;
      case "object_changed":
        this.since?.add(msg.object.id);
        this.merge(applyChange(this.host.objects(), msg.action, msg.object, this.context()).objects);
        return true;
      case "image_changed":
        this.host.imageChanged(msg);
        return true;
      case "comment_added":
        this.host.commentAdded(msg);
        return true;
      case "display_changed":
        this.host.displayChanged?.(msg);
        return true;
      default:
        return false;
    }
  }

  // ------------------------------------------------------------------ leases
  /** Someone else holds `obj`: said (#ws-lock-message), and true. */
  blocked(obj: LocalObject): boolean {
    const holder = this.book.holder(obj.serverId);
    if (holder) this.showLock(lockText(holder, this.you), holder);
    return holder !== null;
  }

  /**
   * The annotator selects `obj` for editing: false when someone else is known to hold it (said), else true — it
   * is selected at once (optimistic) and `sync` (after the selection, on redraw) asks for its lease. A refusal
   * (`lease_refused`, or a `leases` naming another holder) deselects it and says who holds it; an edit made
   * meanwhile stays and is saved as usual, where the holder's lease answers 423 (the conflict flow). Unsaved
   * objects need no lease; offline or with an older server the versions alone guard the edit.
   */
  request(obj: LocalObject): boolean {
    if (obj.serverId === null) return true;
    if (this.blocked(obj)) return false;
    this.hideLock();
    return true;
  }

  /** This manager broke the lease someone else held on `obj`: it may be selected now. */
  forget(obj: LocalObject): void {
    if (obj.serverId !== null) this.book.broken(obj.serverId);
    this.hideLock();
  }

  /** The socket said this user may edit the image (false: a read-only socket, the batch submitted meanwhile). */
  get editable(): boolean {
    return this.canEdit;
  }

  holderOf(obj: LocalObject): Holder | null {
    return this.book.holder(obj.serverId);
  }

  /** Hold exactly the lease on the object being edited (asked for, selected, or re-opened for clicks). */
  sync(): void {
    if (!this.leasing || !this.host.connected()) return;
    const wanted = this.host.selected() ?? this.host.underWay();
    for (const msg of this.book.sync(wanted?.serverId ?? null)) this.host.send(msg);
  }

  private leasesChanged(): void {
    const selected = this.host.selected();
    if (selected && this.blocked(selected)) this.host.setSelected(null); // someone took it while ours was gone
    for (const obj of this.host.objects()) if (obj.dirty && obj.serverId !== null && !this.book.holder(obj.serverId)) this.host.leaseFreed(obj);
    this.sync();
    this.host.redraw();
  }

  private refused(object: number, holder: Person | null, message: string): void {
    this.book.refused(object, holder);
    const obj = this.host.objects().find((o) => o.serverId === object);
    this.showLock(holder ? lockText(holder, this.you) : message, holder);
    if (obj && this.host.selected() === obj) this.host.setSelected(null);
    else this.host.redraw();
  }

  private lost(object: number, reason: "broken" | "expired", by: Person | null): void {
    this.book.lost(object);
    const obj = this.host.objects().find((o) => o.serverId === object);
    if (!obj) return;
    const name = obj.number !== null ? `object #${obj.number}` : "an object";
    this.host.flash(reason === "broken" ? `Your lock on ${name} was broken${by ? ` by ${by.name}` : ""}.` : `Your lock on ${name} expired.`);
    if (obj.dirty) this.host.leaseLost(obj, reason, by); // the edit stays (journal) and the annotator decides
    if (this.host.selected() === obj) this.host.setSelected(null);
    else this.host.redraw();
  }

  private showLock(text: string, holder: Person | null): void {
    const el = byId("ws-lock-message");
    el.textContent = text;
    el.dataset.holder = holder?.name ?? "";
    el.hidden = false;
  }

  private hideLock(): void {
    byId("ws-lock-message").hidden = true;
  }

  // ------------------------------------------------------------------ other people's changes
  private context() {
    return { busy: this.host.underWay()?.localId ?? null, known: this.known };
  }

  /** Our own deletion reached the server: news of older versions does not bring the object back. */
  gone(obj: LocalObject): void {
    if (obj.serverId !== null) this.known.set(obj.serverId, Math.max(this.known.get(obj.serverId) ?? 0, (obj.version ?? 0) + 1));
  }

  private merge(objects: LocalObject[]): void {
    if (objects !== this.host.objects()) this.host.setObjects(objects);
    this.host.redraw();
  }

  /** Catch up from the server's state after (re)connecting: versions tell what changed meanwhile. */
  private async refetch(): Promise<void> {
    const since = new Set<number>();
    this.since = since;
    let list: ServerObject[];
    try {
      list = await this.host.list();
    } catch {
      return; // unreachable: the next connection tries again
    } finally {
      if (this.since === since) this.since = null;
    }
    this.refetches += 1;
    const merged = mergeList(this.host.objects(), list, this.context(), since);
    if (merged.changed) this.merge(merged.objects);
  }

  state() {
    return { leases: this.book.all, leasing: this.leasing, canEdit: this.canEdit, refetches: this.refetches };
  }
}
