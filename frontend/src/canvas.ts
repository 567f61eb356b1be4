/**
 * The Konva stage: the image, the live mask, finished objects (polygons with holes), click markers and the
 * vertex handles of the selected object. The stage carries the view transform, so every shape is placed in
 * image coordinates; polygon vertices and markers are pixel indices drawn at pixel centres (+0.5).
 */

import Konva from "konva";
import type { MaskPixels } from "./maskpixels";
import type { Click } from "./messages";
import { sizeTo } from "./maskpixels";
import type { Shape, VertexRef } from "./polygon";
import { fit, type Point, toImage, toScreen, type View, zoomAt } from "./view";

export interface DrawnObject {
  id: string;
  polygons: Shape;
  color: string;
  selected: boolean;
  visible: boolean;
}

export interface CanvasEvents {
  imageClick(pixel: Point, positive: boolean, forceClick: boolean): void;
  objectClick(id: string, forceClick: boolean, pixel: Point, positive: boolean): void;
  markerClick(index: number): void;
  vertexMoved(ref: VertexRef, x: number, y: number, done: boolean): void;
  vertexSelected(ref: VertexRef): void;
  edgeDoubleClick(x: number, y: number, tolerance: number): void;
  objectDragged(dx: number, dy: number): void;
  viewChanged(): void;
}

const HANDLE_RADIUS = 5;
const MARKER_RADIUS = 6;

export class Canvas {
  readonly stage: Konva.Stage;
  private readonly imageLayer = new Konva.Layer({ listening: true });
  private readonly overlay = new Konva.Layer();
  private readonly maskNode = new Konva.Image({ image: undefined, listening: false });
  private readonly objectsGroup = new Konva.Group({ x: 0.5, y: 0.5 });
  private readonly handlesGroup = new Konva.Group({ x: 0.5, y: 0.5 });
  private readonly markersGroup = new Konva.Group({ x: 0.5, y: 0.5 });
  private readonly pinsGroup = new Konva.Group({ x: 0.5, y: 0.5, listening: false });
  private readonly maskCanvas = document.createElement("canvas");
  private imageNode: Konva.Image | null = null;
  private panning: { from: Point; view: View } | null = null;
  view: View = { scale: 1, x: 0, y: 0 };
  spaceHeld = false;
  pannedWhileSpace = false;
  selectedVertex: VertexRef | null = null;

  constructor(
    private readonly container: HTMLDivElement,
    readonly width: number,
    readonly height: number,
    private readonly events: CanvasEvents,
  ) {
    this.stage = new Konva.Stage({ container, width: container.clientWidth, height: container.clientHeight });
    this.maskCanvas.width = width;
    this.maskCanvas.height = height;
    this.maskNode.image(this.maskCanvas);
    this.maskNode.size({ width, height });
    this.overlay.add(this.maskNode, this.objectsGroup, this.pinsGroup, this.handlesGroup, this.markersGroup);
    this.stage.add(this.imageLayer, this.overlay);
    this.bindPointer();
    new ResizeObserver(() => {
      this.stage.size({ width: container.clientWidth, height: container.clientHeight });
    }).observe(container);
  }

  /** Load and show the image at `url`; false when it cannot be decoded. */
  async loadImage(url: string): Promise<boolean> {
    const img = new Image();
    img.src = url;
    try {
      await img.decode();
    } catch {
      return false;
    }
    this.setImage(img);
    return true;
  }

  setImage(img: HTMLImageElement): void {
    this.imageNode = new Konva.Image({ image: img, width: this.width, height: this.height });
    this.imageLayer.add(this.imageNode);
    this.fitToScreen();
  }

  /** Brightness and contrast as a CSS filter on the image layer alone: instant, no pixel work. */
  setAdjustments(brightness: number, contrast: number): void {
    this.imageLayer.getNativeCanvasElement().style.filter = `brightness(${brightness}%) contrast(${contrast}%)`;
  }

  // ------------------------------------------------------------------ view
  applyView(view: View): void {
    this.view = view;
    this.stage.scale({ x: view.scale, y: view.scale });
    this.stage.position({ x: view.x, y: view.y });
    this.resizeHandles();
    this.stage.batchDraw();
    this.events.viewChanged();
  }

  fitToScreen(): void {
    this.applyView(fit(this.width, this.height, this.stage.width(), this.stage.height()));
  }

  zoom(factor: number, anchor?: Point): void {
    this.applyView(zoomAt(this.view, anchor ?? { x: this.stage.width() / 2, y: this.stage.height() / 2 }, factor));
  }

  /** Client (page) coordinates of an image pixel's centre — what a test clicks on. */
  clientPointOf(x: number, y: number): Point {
    const rect = this.container.getBoundingClientRect();
    const p = toScreen(this.view, { x: x + 0.5, y: y + 0.5 });
    return { x: rect.left + p.x, y: rect.top + p.y };
  }

  private pointerImage(): Point {
    const p = this.stage.getPointerPosition() ?? { x: 0, y: 0 };
    return toImage(this.view, p);
  }

  private pixelUnderPointer(): Point | null {
    const p = this.pointerImage();
    const x = Math.floor(p.x);
    const y = Math.floor(p.y);
    return x >= 0 && y >= 0 && x < this.width && y < this.height ? { x, y } : null;
  }

  private bindPointer(): void {
    const content = this.stage.content;
    content.addEventListener("contextmenu", (e) => e.preventDefault());
    this.stage.on("wheel", (e) => {
      e.evt.preventDefault();
      const anchor = this.stage.getPointerPosition() ?? { x: 0, y: 0 };
      this.zoom(Math.exp(-e.evt.deltaY * 0.0015), anchor);
    });
    this.stage.on("mousedown", (e) => {
      const evt = e.evt;
      if (evt.button === 1 || (evt.button === 0 && this.spaceHeld)) {
        evt.preventDefault();
        this.panning = { from: { x: evt.clientX, y: evt.clientY }, view: this.view };
        if (this.spaceHeld) this.pannedWhileSpace = true;
        content.style.cursor = "grabbing";
      }
    });
    window.addEventListener("mousemove", (evt) => {
      if (!this.panning) return;
      const { from, view } = this.panning;
      this.applyView({ ...view, x: view.x + evt.clientX - from.x, y: view.y + evt.clientY - from.y });
    });
    window.addEventListener("mouseup", () => {
      if (this.panning) {
        this.panning = null;
        content.style.cursor = "crosshair";
      }
    });
    content.style.cursor = "crosshair";
    // The DOM's own dblclick (Konva's is lost when the first click starts tracking a drag of the shape).
    content.addEventListener("dblclick", (evt) => {
      this.stage.setPointersPositions(evt);
      const p = this.pointerImage();
      this.events.edgeDoubleClick(p.x - 0.5, p.y - 0.5, 8 / this.view.scale);
    });
    // Clicks on the image (not on an object, marker or handle, which stop the event themselves).
    this.stage.on("mousedown", (e) => {
      const evt = e.evt;
      if (this.spaceHeld || evt.button === 1 || e.target !== this.imageNode) return;
      if (evt.button !== 0 && evt.button !== 2) return;
      const pixel = this.pixelUnderPointer();
      if (pixel) this.events.imageClick(pixel, evt.button === 0, evt.shiftKey);
    });
  }

  // ------------------------------------------------------------------ mask
  /**
   * Paint the live mask (RGBA of the mask's own size, which is smaller than the image's when the server segments
   * a huge image at a working resolution): the canvas takes the mask's size and the node stretches it over the
   * image. Opacity is a node property.
   */
  paintMask(mask: MaskPixels | null): void {
    if (mask) sizeTo(this.maskCanvas, mask.width, mask.height);
    const ctx = this.maskCanvas.getContext("2d")!;
    ctx.clearRect(0, 0, this.maskCanvas.width, this.maskCanvas.height);
    if (mask) ctx.putImageData(new ImageData(mask.rgba, mask.width, mask.height), 0, 0);
    this.maskNode.image(this.maskCanvas);
    this.overlay.draw(); // synchronously, so that the next animation frame shows it
  }

  setMaskOpacity(opacity: number): void {
    this.maskNode.opacity(opacity); // finished objects take it as their fill alpha when drawn
    this.overlay.batchDraw();
  }

  setMaskVisible(visible: boolean): void {
    this.maskNode.visible(visible);
    this.overlay.batchDraw();
  }

  // ------------------------------------------------------------------ pins
  /** Where review comments were made: small diamonds, numbered like their comments, that clicks pass through. */
  drawPins(pins: (Point & { number: number })[]): void {
    this.pinsGroup.destroyChildren();
    pins.forEach((pin) => {
      const group = new Konva.Group({ x: pin.x, y: pin.y, name: "pin", scale: { x: 1 / this.view.scale, y: 1 / this.view.scale } });
      group.add(
        new Konva.Rect({ x: -6, y: -6, width: 12, height: 12, rotation: 45, offsetX: 0, fill: "#ffd166", stroke: "#1d2330", strokeWidth: 1 }),
        new Konva.Text({ x: 8, y: -7, text: String(pin.number), fontSize: 13, fontStyle: "bold", fill: "#ffd166", stroke: "#1d2330", strokeWidth: 0.6 }),
      );
      this.pinsGroup.add(group);
    });
    this.overlay.batchDraw();
  }

  // ------------------------------------------------------------------ markers
  drawMarkers(clicks: Click[]): void {
    this.markersGroup.destroyChildren();
    clicks.forEach((click, index) => {
      const marker = new Konva.Circle({
        x: click.x,
        y: click.y,
        radius: MARKER_RADIUS / this.view.scale,
        fill: click.positive ? "#1db954" : "#e5383b",
        stroke: "#fff",
        strokeWidth: 1.5,
        strokeScaleEnabled: false,
        name: "marker",
      });
      marker.on("mousedown", (e) => {
        e.cancelBubble = true;
        if (e.evt.button === 0 && !this.spaceHeld) this.events.markerClick(index);
      });
      this.markersGroup.add(marker);
    });
    // Synchronously: the hit graph must know the new shapes before the next pointer event,
    // or a click arriving before the next animation frame hits what was there before.
    this.overlay.draw();
  }

  // ------------------------------------------------------------------ objects
  drawObjects(objects: DrawnObject[], fillOpacity: number): void {
    this.objectsGroup.destroyChildren();
    this.handlesGroup.destroyChildren();
    for (const obj of objects) {
      if (!obj.visible) continue;
      const node = new Konva.Shape({
        sceneFunc: (ctx, shape) => {
          traceShape(ctx, obj.polygons);
          ctx.fillStrokeShape(shape);
        },
        fill: hexWithAlpha(obj.color, obj.selected ? fillOpacity * 0.8 : fillOpacity * 0.6),
        fillRule: "evenodd",
        stroke: obj.color,
        strokeWidth: obj.selected ? 2.5 : 1.5,
        strokeScaleEnabled: false,
        hitStrokeWidth: 8,
        draggable: obj.selected,
        name: `object object-${obj.id}`,
      });
      node.on("mousedown", (e) => {
        if (this.spaceHeld || e.evt.button === 1) return;
        e.cancelBubble = true;
        const pixel = this.pixelUnderPointer();
        if (pixel && (!obj.selected || e.evt.shiftKey)) this.events.objectClick(obj.id, e.evt.shiftKey, pixel, e.evt.button === 0);
      });
      if (obj.selected) {
        // The shape's own position is its drag offset (the group holds the +0.5); translate clamps on commit.
        node.on("dragmove", () => this.moveHandlesBy(node.x(), node.y()));
        node.on("dragend", () => {
          const dx = node.x();
          const dy = node.y();
          node.position({ x: 0, y: 0 });
          this.events.objectDragged(dx, dy);
        });
      }
      this.objectsGroup.add(node);
      if (obj.selected) this.drawHandles(obj);
    }
    // Synchronously: the hit graph must know the new shapes before the next pointer event,
    // or a click arriving before the next animation frame hits what was there before.
    this.overlay.draw();
  }

  private moveHandlesBy(dx: number, dy: number): void {
    this.handlesGroup.position({ x: 0.5 + dx, y: 0.5 + dy });
  }

  private drawHandles(obj: DrawnObject): void {
    this.handlesGroup.position({ x: 0.5, y: 0.5 });
    obj.polygons.forEach((polygon, p) => {
      [polygon.outer, ...polygon.holes].forEach((ring, r) => {
        ring.forEach(([x, y], index) => {
          const ref: VertexRef = { polygon: p, ring: r - 1, index };
          const isSelected =
            this.selectedVertex?.polygon === p && this.selectedVertex.ring === r - 1 && this.selectedVertex.index === index;
          const handle = new Konva.Circle({
            x,
            y,
            radius: HANDLE_RADIUS / this.view.scale,
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
            this.events.vertexSelected(ref);
          });
          handle.on("dragmove", () => this.events.vertexMoved(ref, handle.x(), handle.y(), false));
          handle.on("dragend", () => this.events.vertexMoved(ref, handle.x(), handle.y(), true));
          this.handlesGroup.add(handle);
        });
      });
    });
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
    this.overlay.batchDraw();
  }

  private resizeHandles(): void {
    for (const node of this.handlesGroup.getChildren()) (node as Konva.Circle).radius(HANDLE_RADIUS / this.view.scale);
    for (const node of this.markersGroup.getChildren()) (node as Konva.Circle).radius(MARKER_RADIUS / this.view.scale);
    for (const node of this.pinsGroup.getChildren()) node.scale({ x: 1 / this.view.scale, y: 1 / this.view.scale });
  }

  /** A dashed outline of someone else's version of an object (shown in the conflict dialog). */
  showGhost(polygons: Shape | null): void {
    this.overlay.find(".ghost").forEach((n) => n.destroy());
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
      this.overlay.add(ghost);
    }
    this.overlay.batchDraw();
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
