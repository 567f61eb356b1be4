/**
 * The objects layer of the canvas: finished objects (polygons with holes, filled even-odd), the drag handles of
 * the selected object (only as many as fit at the current zoom, handles.ts), the highlight of an object hovered
 * in the object list, a re-opened object's outline, the dashed ghost of someone else's version, and the outline
 * and name tag of objects someone else is editing (leaseTags.ts).
 */

import Konva from "konva";
import type { CanvasEvents } from "./canvas";
import { handleIndices } from "./handles";
import { type Holder, leaseTag, rescaleTags } from "./leaseTags";
import type { Shape, VertexRef } from "./polygon";
import type { Point } from "./view";

export interface DrawnObject {
  id: string;
  polygons: Shape;
  color: string;
  selected: boolean;
  visible: boolean;
  reopened?: boolean; // being re-segmented from its clicks: outline only, clicks pass through it
  lockedBy?: Holder | null; // someone else holds its lease: outlined in their colour, their name on it
}

/** What the layer needs of the canvas around it. */
export interface ObjectLayerHost {
  overlay: Konva.Layer;
  events: CanvasEvents;
  scale(): number;
  spaceHeld(): boolean;
  pixelUnderPointer(): Point | null;
  selectedVertex(): VertexRef | null;
}

export const HANDLE_RADIUS = 5;
/** Handles closer than this on screen (px) are thinned out: about three radii between centres. */
const HANDLE_SPACING = 3 * HANDLE_RADIUS;

export class ObjectLayer {
  readonly objectsGroup = new Konva.Group({ x: 0.5, y: 0.5 });
  readonly handlesGroup = new Konva.Group({ x: 0.5, y: 0.5 });
  readonly tagsGroup = new Konva.Group({ x: 0.5, y: 0.5, listening: false });
  private selected: DrawnObject | null = null;
  private highlighted: string | null = null;
  private holding = false; // the pointer is down on a handle or the selected object: it is (or may start) a drag
  private deferred: [DrawnObject[], number] | null = null;

  constructor(private readonly host: ObjectLayerHost) {}

  draw(objects: DrawnObject[], fillOpacity: number): void {
    if (this.holding) {
      // Someone else's change (a lease, a save) arrived while the pointer is down: redrawing now would destroy the
      // node being (or about to be) dragged and drop the annotator's drag. The latest picture is drawn on release.
      this.deferred = [objects, fillOpacity];
      return;
    }
    this.deferred = null;
    this.objectsGroup.destroyChildren();
    this.tagsGroup.destroyChildren();
    this.selected = null;
    for (const obj of objects) {
      if (!obj.visible) continue;
      this.objectsGroup.add(this.node(obj, fillOpacity));
      const tag = obj.lockedBy ? leaseTag(obj.id, obj.polygons, obj.lockedBy, this.host.scale()) : null;
      if (tag) this.tagsGroup.add(tag);
      if (obj.selected) this.selected = obj;
    }
    this.drawHandles();
    this.highlight(this.highlighted);
    // Synchronously: the hit graph must know the new shapes before the next pointer event,
    // or a click arriving before the next animation frame hits what was there before.
    this.host.overlay.draw();
  }

  private node(obj: DrawnObject, fillOpacity: number): Konva.Shape {
    const baseStroke = obj.lockedBy ? 3 : obj.selected ? 2.5 : 1.5;
    const node = new Konva.Shape({
      sceneFunc: (ctx, shape) => {
        traceShape(ctx, obj.polygons);
        ctx.fillStrokeShape(shape);
      },
      fill: obj.reopened ? undefined : hexWithAlpha(obj.color, obj.selected ? fillOpacity * 0.8 : fillOpacity * 0.6),
      fillRule: "evenodd",
      stroke: obj.lockedBy?.colour ?? obj.color,
      strokeWidth: baseStroke,
      dash: obj.reopened ? [6, 4] : obj.lockedBy ? [10, 4] : undefined,
      strokeScaleEnabled: false,
      hitStrokeWidth: 8,
      listening: !obj.reopened,
      draggable: obj.selected,
      name: `object object-${obj.id}`,
    });
    node.setAttr("baseStroke", baseStroke);
    node.on("mousedown", (e) => {
      if (this.host.spaceHeld() || e.evt.button === 1) return;
      e.cancelBubble = true;
      if (obj.selected) this.hold();
      const pixel = this.host.pixelUnderPointer();
      if (pixel && (!obj.selected || e.evt.shiftKey)) this.host.events.objectClick(obj.id, e.evt.shiftKey, pixel, e.evt.button === 0);
    });
    if (obj.selected) {
      // The shape's own position is its drag offset (the group holds the +0.5); translate clamps on commit.
      node.on("dragmove", () => this.handlesGroup.position({ x: 0.5 + node.x(), y: 0.5 + node.y() }));
      node.on("dragend", () => {
        const dx = node.x();
        const dy = node.y();
        node.position({ x: 0, y: 0 });
        this.dragEnded(() => this.host.events.objectDragged(dx, dy));
      });
    }
    return node;
  }

  /** The zoom changed: handles keep their screen size, and as many are shown as fit without crowding. */
  viewChanged(): void {
    rescaleTags(this.tagsGroup, this.host.scale());
    if (!this.holding) this.drawHandles();
  }

  /** The object hovered in the object list (null: none) stands out: a thick outline with a glow. */
  highlight(id: string | null): void {
    this.highlighted = id;
    for (const node of this.objectsGroup.getChildren() as Konva.Shape[]) {
      const on = id !== null && node.hasName(`object-${id}`);
      node.strokeWidth(on ? 5 : (node.getAttr("baseStroke") as number));
      node.shadowEnabled(on);
      if (on) node.setAttrs({ shadowColor: "#ffffff", shadowBlur: 12, shadowOpacity: 0.9 });
    }
    this.host.overlay.batchDraw();
  }

  get highlightedId(): string | null {
    return this.highlighted;
  }

  private drawHandles(): void {
    this.handlesGroup.destroyChildren();
    this.handlesGroup.position({ x: 0.5, y: 0.5 });
    const obj = this.selected;
    if (!obj) return;
    const scale = this.host.scale();
    const chosen = this.host.selectedVertex();
    obj.polygons.forEach((polygon, p) => {
      [polygon.outer, ...polygon.holes].forEach((ring, r) => {
        const keep = chosen && chosen.polygon === p && chosen.ring === r - 1 ? chosen.index : null;
        for (const index of handleIndices(ring, scale, HANDLE_SPACING, keep)) {
          this.handlesGroup.add(this.handle(obj, { polygon: p, ring: r - 1, index }, ring[index], index === keep));
        }
      });
    });
  }

  private handle(obj: DrawnObject, ref: VertexRef, [x, y]: [number, number], isSelected: boolean): Konva.Circle {
    const handle = new Konva.Circle({
      x,
      y,
      radius: HANDLE_RADIUS / this.host.scale(),
      fill: isSelected ? obj.color : "#fff",
      stroke: obj.color,
      strokeWidth: 1.5,
      strokeScaleEnabled: false,
      draggable: true,
      name: "handle",
    });
    handle.setAttr("ref", ref);
    handle.on("mousedown", (e) => {
      e.cancelBubble = true;
      this.hold();
      this.host.events.vertexSelected(ref);
    });
    handle.on("dragmove", () => this.host.events.vertexMoved(ref, handle.x(), handle.y(), false));
    handle.on("dragend", () => {
      this.dragEnded(() => this.host.events.vertexMoved(ref, handle.x(), handle.y(), true));
    });
    return handle;
  }

  /** The pointer went down on a handle or the selected object: redraws wait until it is released. */
  private hold(): void {
    this.holding = true;
    window.addEventListener("mouseup", () => this.release(), { once: true }); // a press that never became a drag
  }

  /** The drag is over: commit it, then draw what arrived meanwhile (unless the commit drew already). */
  private dragEnded(commit: () => void): void {
    this.holding = false;
    commit();
    this.release();
  }

  private release(): void {
    this.holding = false;
    if (this.deferred) this.draw(...this.deferred);
  }

  /** Live feedback while a vertex is dragged: redraw the selected object's outline only. */
  redrawSelected(obj: DrawnObject): void {
    const node = this.objectsGroup.findOne(`.object-${obj.id}`) as Konva.Shape | undefined;
    if (node) {
      node.sceneFunc((ctx, shape) => {
        traceShape(ctx, obj.polygons);
        ctx.fillStrokeShape(shape);
      });
    }
    if (this.selected?.id === obj.id) this.selected = { ...this.selected, polygons: obj.polygons };
    this.host.overlay.batchDraw();
  }

  /** A dashed outline of someone else's version of an object (shown in the conflict dialog). */
  showGhost(polygons: Shape | null): void {
    const overlay = this.host.overlay;
    overlay.find(".ghost").forEach((n) => n.destroy());
    if (polygons) {
      const ghost = new Konva.Shape({
        x: 0.5,
        y: 0.5,
        name: "ghost",
        listening: false,
        stroke: "#ffb703",
        strokeWidth: 2,
        dash: [6, 4],
        strokeScaleEnabled: false,
        sceneFunc: (ctx, shape) => {
          traceShape(ctx, polygons);
          ctx.strokeShape(shape);
        },
      });
      overlay.add(ghost);
    }
    overlay.batchDraw();
  }
}

/** The path of every ring of a shape (outer and holes, filled even-odd) on a Konva context. */
function traceShape(ctx: Konva.Context, shape: Shape): void {
  ctx.beginPath();
  for (const polygon of shape) {
    for (const ring of [polygon.outer, ...polygon.holes]) {
      ring.forEach(([x, y], i) => (i === 0 ? ctx.moveTo(x, y) : ctx.lineTo(x, y)));
      ctx.closePath();
    }
  }
}

function hexWithAlpha(hex: string, alpha: number): string {
  const a = Math.round(Math.max(0, Math.min(1, alpha)) * 255)
    .toString(16)
    .padStart(2, "0");
  return /^#[0-9a-f]{6}$/i.test(hex) ? `${hex}${a}` : hex;
}
