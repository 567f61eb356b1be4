/**
 * The Konva stage: the image, the live mask, click markers (the newest one marked while its mask is computed or
 * cannot be computed now), review pins, and the objects layer (canvasObjects.ts: finished objects and the vertex
 * handles of the selected one). The stage carries the view transform, so every shape is placed in image
 * coordinates; polygon vertices and markers are pixel indices drawn at pixel centres (+0.5).
 */

import Konva from "konva";
import { type DrawnObject, ObjectLayer } from "./canvasObjects";
import type { Pending } from "./clicking";
import type { MaskPixels } from "./maskpixels";
import type { Click } from "./messages";
import { sizeTo } from "./maskpixels";
import type { Shape, VertexRef } from "./polygon";
import { TileGrid, type TilePlace, type TilesInfo } from "./tiles";
import { fit, type Point, toImage, toScreen, type View, zoomAt } from "./view";

export type { DrawnObject } from "./canvasObjects";

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

const MARKER_RADIUS = 6;
const TILE_SETTLE_MS = 60;
const PENDING_COLOR: Record<Exclude<Pending, "idle">, string> = { computing: "#ffb703", unsent: "#ff5d5d", waiting: "#8ecae6" };

export class Canvas {
  readonly stage: Konva.Stage;
  private readonly imageLayer = new Konva.Layer({ listening: true });
  private readonly overlay = new Konva.Layer();
  private readonly maskNode = new Konva.Image({ image: undefined, listening: false });
  readonly objects: ObjectLayer;
  private readonly markersGroup = new Konva.Group({ x: 0.5, y: 0.5 });
  private readonly pinsGroup = new Konva.Group({ x: 0.5, y: 0.5, listening: false });
  private readonly maskCanvas = document.createElement("canvas");
  private imageNode: Konva.Shape | null = null;
  // A tiled image: a backdrop of its overview level, and the tiles of the level matching the zoom over it.
  private tileGrid: TileGrid | null = null;
  private readonly backdropGroup = new Konva.Group({ listening: false });
  private readonly detailGroup = new Konva.Group({ listening: false });
  private tileTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly tileNodes = new Map<string, { node: Konva.Image; level: number; loaded: boolean }>();
  /** Tiles asked for and decoded so far (tests check that only the visible ones are). */
  readonly tileStats = { requested: 0, loaded: 0, failed: 0, pending: 0, level: -1 };
  private panning: { from: Point; view: View } | null = null;
  private spinner: Konva.Animation | null = null;
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
    // The live mask's canvas takes the mask's size when one comes; a gigapixel one would exceed a canvas's limits.
    this.maskCanvas.width = width * height > 4096 * 4096 ? 1 : width;
    this.maskCanvas.height = width * height > 4096 * 4096 ? 1 : height;
    this.maskNode.image(this.maskCanvas);
    this.maskNode.size({ width, height });
    this.objects = new ObjectLayer({
      overlay: this.overlay,
      events,
      scale: () => this.view.scale,
      spaceHeld: () => this.spaceHeld,
      pixelUnderPointer: () => this.pixelUnderPointer(),
      selectedVertex: () => this.selectedVertex,
    });
    this.overlay.add(this.maskNode, this.objects.objectsGroup, this.objects.tagsGroup, this.pinsGroup, this.objects.handlesGroup, this.markersGroup);
    this.stage.add(this.imageLayer, this.overlay);
    this.bindPointer();
    new ResizeObserver(() => {
      this.stage.size({ width: container.clientWidth, height: container.clientHeight });
      this.scheduleTiles();
    }).observe(container);
  }

  /**
   * Show a tiled image: never the whole file, only the tiles the view needs — a backdrop of the overview level
   * (a few tiles, loaded first) and the visible tiles of the level matching the zoom, loaded as the view moves.
   * False when the backdrop cannot be loaded.
   */
  async loadTiles(info: TilesInfo): Promise<boolean> {
    const grid = new TileGrid(info, this.width, this.height);
    this.tileGrid = grid;
    // The click target: a transparent rectangle over the whole image (tiles do not listen).
    this.imageNode = new Konva.Rect({ width: this.width, height: this.height, fill: "rgba(0,0,0,0)" });
    this.imageLayer.add(this.backdropGroup, this.detailGroup, this.imageNode);
    const backdrop = grid.all(grid.overviewLevel()).map((place) => this.loadTile(place, this.backdropGroup));
    this.fitToScreen();
    const loaded = await Promise.all(backdrop);
    return loaded.every(Boolean);
  }

  private loadTile(place: TilePlace, group: Konva.Group): Promise<boolean> {
    const node = new Konva.Image({ image: undefined, x: place.x, y: place.y, width: place.width, height: place.height, listening: false, name: "tile" });
    const entry = { node, level: place.level, loaded: false };
    this.tileNodes.set(place.key, entry);
    group.add(node);
    const img = new Image();
    img.src = place.url;
    this.tileStats.requested++;
    this.tileStats.pending++;
    return img.decode().then(
      () => {
        this.tileStats.pending--;
        this.tileStats.loaded++;
        if (this.tileNodes.get(place.key) !== entry) return true; // dropped meanwhile
        node.image(img);
        entry.loaded = true;
        this.imageLayer.batchDraw();
        this.dropHiddenTiles();
        return true;
      },
      () => {
        this.tileStats.pending--;
        this.tileStats.failed++;
        if (this.tileNodes.get(place.key) === entry) {
          this.tileNodes.delete(place.key); // asked for again when next visible
          node.destroy();
        }
        return false;
      },
    );
  }

  private wantedTiles(): TilePlace[] {
    const grid = this.tileGrid;
    if (!grid) return [];
    const visible = grid.visible(this.view, this.stage.width(), this.stage.height(), window.devicePixelRatio || 1);
    return visible.length && visible[0].level > grid.overviewLevel() ? visible : [];
  }

  /** Tiles are asked for once the view rests (a wheel turn or a drag goes through many views in between). */
  private scheduleTiles(): void {
    if (!this.tileGrid) return;
    if (this.tileTimer !== null) clearTimeout(this.tileTimer);
    this.tileTimer = setTimeout(() => {
      this.tileTimer = null;
      this.updateTiles();
    }, TILE_SETTLE_MS);
  }

  /** Ask for the visible tiles at the zoom's level; finer levels are drawn above coarser ones. */
  private updateTiles(): void {
    const grid = this.tileGrid;
    if (!grid) return;
    const wanted = this.wantedTiles();
    this.tileStats.level = wanted.length ? wanted[0].level : grid.overviewLevel();
    for (const place of wanted) if (!this.tileNodes.has(place.key)) void this.loadTile(place, this.detailGroup);
    this.dropHiddenTiles();
  }

  /** Detail tiles that are no longer wanted go once every wanted one is shown (so nothing blinks while loading). */
  private dropHiddenTiles(): void {
    const wanted = new Set(this.wantedTiles().map((place) => place.key));
    const ready = [...wanted].every((key) => this.tileNodes.get(key)?.loaded);
    for (const [key, entry] of this.tileNodes) {
      if (entry.node.getParent() !== this.detailGroup || wanted.has(key)) continue;
      if (ready || entry.level === this.tileStats.level) {
        this.tileNodes.delete(key);
        entry.node.destroy();
      }
    }
    // finer levels over coarser ones
    const nodes = [...this.tileNodes.values()].filter((e) => e.node.getParent() === this.detailGroup);
    nodes.sort((a, b) => a.level - b.level).forEach((e, index) => e.node.zIndex(index));
    this.imageLayer.batchDraw();
  }

  /** Load and show the image at `url`; false when it cannot be decoded. */
  async loadImage(url: string): Promise<boolean> {
    this.imageUrl = url;
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

  private imageToken = 0;
  imageUrl = "";

  /**
   * Show the picture at `url` in place of the current one (another slice, another display mapping) without
   * touching the view; false when it cannot be decoded or a newer replacement was asked for meanwhile.
   */
  async replaceImage(url: string): Promise<boolean> {
    const token = ++this.imageToken;
    const img = new Image();
    img.src = url;
    try {
      await img.decode();
    } catch {
      return false;
    }
    if (token !== this.imageToken) return false;
    this.imageUrl = url;
    if (!this.imageNode) this.setImage(img);
    else if (this.imageNode instanceof Konva.Image) {
      this.imageNode.image(img);
      this.imageLayer.batchDraw();
    }
    return true;
  }

  /** The RGBA the image layer shows at the centre of image pixel (x, y) — what a test reads back. */
  shownPixel(x: number, y: number): number[] {
    const canvas = this.imageLayer.getCanvas();
    const p = toScreen(this.view, { x: x + 0.5, y: y + 0.5 });
    const ratio = canvas.getPixelRatio();
    return Array.from(canvas.getContext()._context.getImageData(Math.floor(p.x * ratio), Math.floor(p.y * ratio), 1, 1).data);
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
    this.scheduleTiles();
    this.resizeMarks();
    this.objects.viewChanged();
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
  paintMask(mask: MaskPixels | null, box: number[] | null = null): void {
    if (mask) sizeTo(this.maskCanvas, mask.width, mask.height);
    const [x, y, width, height] = box && box.length === 4 ? box : [0, 0, this.width, this.height];
    this.maskNode.position({ x, y });
    this.maskNode.size({ width, height });
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
  /** The click markers; the newest is ringed while its mask is computed (a turning arc) or cannot be now (dashed). */
  drawMarkers(clicks: Click[], pending: Pending = "idle"): void {
    this.markersGroup.destroyChildren();
    this.spinner?.stop();
    this.spinner = null;
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
    const newest = clicks[clicks.length - 1];
    if (newest && pending !== "idle") this.markersGroup.add(this.pendingRing(newest, pending));
    // Synchronously: the hit graph must know the new shapes before the next pointer event,
    // or a click arriving before the next animation frame hits what was there before.
    this.overlay.draw();
  }

  private pendingRing(click: Click, pending: Exclude<Pending, "idle">): Konva.Arc {
    const ring = new Konva.Arc({
      x: click.x,
      y: click.y,
      innerRadius: (MARKER_RADIUS + 3) / this.view.scale,
      outerRadius: (MARKER_RADIUS + 6) / this.view.scale,
      angle: pending === "computing" ? 270 : 360,
      fill: PENDING_COLOR[pending],
      opacity: pending === "computing" ? 1 : 0.85,
      dash: pending === "unsent" || pending === "waiting" ? [3, 3] : undefined,
      listening: false,
      name: `marker-pending pending-${pending}`,
    });
    if (pending === "computing") {
      this.spinner = new Konva.Animation((frame) => {
        ring.rotation(((frame?.time ?? 0) * 0.36) % 360);
      }, this.overlay);
      this.spinner.start();
    }
    return ring;
  }

  // ------------------------------------------------------------------ objects
  drawObjects(objects: DrawnObject[], fillOpacity: number): void {
    this.objects.draw(objects, fillOpacity);
  }

  /** Live feedback while a vertex is dragged: redraw the selected object's outline only. */
  redrawSelected(obj: DrawnObject): void {
    this.objects.redrawSelected(obj);
  }

  /** A dashed outline of someone else's version of an object (shown in the conflict dialog). */
  showGhost(polygons: Shape | null): void {
    this.objects.showGhost(polygons);
  }

  private resizeMarks(): void {
    for (const node of this.markersGroup.getChildren()) {
      if (node instanceof Konva.Arc) {
        node.innerRadius((MARKER_RADIUS + 3) / this.view.scale);
        node.outerRadius((MARKER_RADIUS + 6) / this.view.scale);
      } else (node as Konva.Circle).radius(MARKER_RADIUS / this.view.scale);
    }
    for (const node of this.pinsGroup.getChildren()) node.scale({ x: 1 / this.view.scale, y: 1 / this.view.scale });
  }
}
