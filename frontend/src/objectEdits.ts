/**
 * The objects on the open image and their edits: finished objects, polygon edits (move, insert or delete a
 * vertex, drag the whole shape), a new shape from added clicks (re-opened object), relabel and delete. Each edit
 * is one entry of the workspace's undo History (the object's state before and after); `apply` puts a state back
 * on undo/redo. Every change is autosaved.
 */

import type { History } from "./history";
import type { Click } from "./messages";
import type { LocalObject } from "./objects";
import { type Bounds, cloneShape, insertVertex, moveVertex, nearestEdge, removeVertex, type Shape, translate, type VertexRef } from "./polygon";

export interface ObjectState {
  label: number;
  polygons: Shape;
  clicks: Click[];
  deleted: boolean;
}

/** An undo entry of an object: its state before and after the edit. */
export interface ObjectEntry {
  kind: "object";
  obj: LocalObject;
  before: ObjectState;
  after: ObjectState;
}

export interface ObjectEditsHost {
  touch(obj: LocalObject, delayMs?: number): void; // journal the change, then save it
  changed(): void; // redraw the objects and the object list
  dragging(obj: LocalObject): void; // live outline while a vertex is dragged
  flash(message: string): void;
}

/** Vertices are stored to a tenth of a pixel. */
const tenth = (v: number) => Math.round(v * 10) / 10;

function stateOf(obj: LocalObject): ObjectState {
  return { label: obj.label, polygons: cloneShape(obj.polygons), clicks: obj.clicks, deleted: obj.deleted };
}

export class ObjectEdits {
  objects: LocalObject[] = [];
  selected: string | null = null; // the localId of the selected object
  private dragStart: ObjectState | null = null;
  private dragged: LocalObject | null = null; // the object a vertex drag started on

  constructor(
    private readonly bounds: Bounds,
    private readonly history: History<{ kind: string }>,
    private readonly host: ObjectEditsHost,
  ) {}

  get selectedObject(): LocalObject | undefined {
    return this.objects.find((o) => o.localId === this.selected);
  }

  /** A finished object: selected, saved at once; undo deletes it. */
  add(obj: LocalObject): void {
    this.objects.push(obj);
    this.selected = obj.localId;
    this.record(obj, { ...stateOf(obj), deleted: true }, 0);
  }

  /** A re-opened object finished: its new shape and the clicks it was computed from, one undo entry. */
  reshape(obj: LocalObject, change: { label: number; polygons: Shape; clicks: Click[]; placed: number; seconds: number }): void {
    const before = stateOf(obj);
    obj.label = change.label;
    obj.polygons = change.polygons;
    obj.clicks = change.clicks;
    obj.clicksChanged = true;
    obj.clicksUsed += change.placed; // effort adds up; undo does not take it back
    obj.secondsSpent = Math.round((obj.secondsSpent + change.seconds) * 10) / 10;
    this.selected = obj.localId;
    this.record(obj, before, 0);
  }

  /** Gone from the server and wanted gone here (the saver's `removeLocal`). */
  forget(obj: LocalObject): void {
    this.objects = this.objects.filter((o) => o !== obj);
    this.host.changed();
  }

  /**
   * A vertex dragged (`done`: dropped). The drop is recorded on the object the drag started on even if it was
   * deselected meanwhile (its lease lost or refused): the moved outline is on screen, so it is journaled and saved,
   * and a lease held by someone else answers with the conflict flow — never a change shown but not kept.
   */
  moveVertex(ref: VertexRef, x: number, y: number, done: boolean): void {
    const obj = this.dragged ?? this.selectedObject;
    if (!obj) return;
    this.dragged = obj;
    this.dragStart ??= stateOf(obj);
    if (!done) {
      obj.polygons = moveVertex(obj.polygons, ref, x, y, this.bounds);
      this.host.dragging(obj);
      return;
    }
    obj.polygons = moveVertex(obj.polygons, ref, tenth(x), tenth(y), this.bounds);
    const before = this.dragStart;
    this.dragStart = null;
    this.dragged = null;
    this.record(obj, before);
  }

  /** A double-click near an edge of the selected object (within `tolerance` px) adds a vertex there. */
  insertVertexNear(x: number, y: number, tolerance: number): void {
    const obj = this.selectedObject;
    const edge = obj && nearestEdge(obj.polygons, x, y);
    if (!obj || !edge || edge.distance > tolerance) return;
    const before = stateOf(obj);
    const [px, py] = edge.point; // on the edge itself, so the outline does not move
    obj.polygons = insertVertex(obj.polygons, edge.ref, tenth(px), tenth(py), this.bounds);
    this.record(obj, before);
  }

  translateSelected(dx: number, dy: number): void {
    const obj = this.selectedObject;
    if (!obj || (dx === 0 && dy === 0)) return;
    const before = stateOf(obj);
    obj.polygons = translate(obj.polygons, tenth(dx), tenth(dy), this.bounds);
    this.record(obj, before);
  }

  /** Delete the selected vertex (`vertex`), or the selected object when no vertex is selected. */
  deleteSelected(vertex: VertexRef | null): void {
    const obj = this.selectedObject;
    if (!obj) return;
    if (!vertex) return this.remove(obj);
    const next = removeVertex(obj.polygons, vertex);
    if (!next) return this.host.flash("A ring keeps at least 3 vertices; Delete again removes the object.");
    const before = stateOf(obj);
    obj.polygons = next;
    this.record(obj, before);
  }

  remove(obj: LocalObject): void {
    const before = stateOf(obj);
    obj.deleted = true;
    if (this.selected === obj.localId) this.selected = null;
    this.record(obj, before);
  }

  relabel(obj: LocalObject, label: number): void {
    const before = stateOf(obj);
    obj.label = label;
    this.record(obj, before);
  }

  /** Undo/redo: the object as it was. */
  apply(obj: LocalObject, state: ObjectState): void {
    if (!state.deleted && !this.objects.includes(obj)) {
      // Its deletion reached the server: restore it there (same id and history), or create it again.
      if (obj.serverId !== null && obj.version !== null) obj.restoreFrom = { id: obj.serverId, version: obj.version };
      obj.serverId = null;
      obj.version = null;
      this.objects.push(obj);
    }
    obj.label = state.label;
    obj.polygons = cloneShape(state.polygons);
    if (obj.clicks !== state.clicks) obj.clicksChanged = true; // a re-segmentation undone or redone
    obj.clicks = state.clicks;
    obj.deleted = state.deleted;
    if (obj.deleted && this.selected === obj.localId) this.selected = null;
    this.host.changed();
    this.host.touch(obj);
  }

  /** An edit done: its undo entry, then redraw and autosave. */
  private record(obj: LocalObject, before: ObjectState, delayMs?: number): void {
    const entry: ObjectEntry = { kind: "object", obj, before, after: stateOf(obj) };
    this.history.push(entry);
    this.host.changed();
    this.host.touch(obj, delayMs);
  }
}
