/**
 * The annotation workspace, composed of its parts: the canvas and panels; the click session (clicking.ts:
 * clicks → websocket → live mask → a finished object); the objects and their polygon edits (objectEdits.ts);
 * one undo History over both; autosave through the REST API with an IndexedDB journal (saver.ts, journal.ts);
 * the toolbar (controls.ts) and the keyboard (keys.ts).
 */

import { objectApi, type ReviewComment, request, type ServerObject } from "./api";
import { Canvas, type DrawnObject } from "./canvas";
import { Clicking, type ClicksEntry } from "./clicking";
import { bindControls, navigate, showOptions } from "./controls";
import { byId, h } from "./dom";
import { History } from "./history";
import { IndexedDbJournal, type Journal, MemoryJournal, replay } from "./journal";
import { Keys } from "./keys";
import { maskPixels } from "./maskpixels";
import type { MaskMessage, ReadyMessage } from "./messages";
import { ObjectEdits, type ObjectEntry } from "./objectEdits";
import type { LocalObject } from "./objects";
import { buildLayout, type Label, renderComments, renderConflict, renderLabels, renderObjects, renderSave } from "./panels";
import { hexToRgb } from "./rle";
import { type Conflict, Saver } from "./saver";
import type { Action } from "./shortcuts";
import { AnnotateSocket, socketUrl } from "./socket";

export interface WorkspaceConfig {
  image: { id: number; width: number; height: number; name: string; url: string; status?: string };
  labels: Label[];
  projectUrl: string;
  prevUrl: string | null;
  nextUrl: string | null;
  loginUrl: string;
}

/** What undo/redo goes through: changes of the click list and edits of objects, in the order they were made. */
type Entry = ClicksEntry | ObjectEntry;
type Connection = "connected" | "reconnecting" | "refused" | "logged-out";

const CONNECTION_TEXT: Record<Connection, string> = {
  connected: "● Connected",
  reconnecting: "○ Reconnecting…",
  refused: "✕ Not allowed to edit",
  "logged-out": "✕ Logged out",
};

export class Workspace {
  readonly canvas: Canvas;
  readonly socket: AnnotateSocket;
  readonly saver: Saver;
  readonly clicking: Clicking;
  readonly edits: ObjectEdits;
  private readonly history = new History<Entry>();
  private readonly journal: Journal;
  private readonly keys: Keys;
  private comments: ReviewComment[] = [];
  private label: number;
  private maskOpacity = 0.5;
  private maskVisible = true;
  private optionsShown = false;
  private leaving = false;
  readonly metrics = { clickToPaintMs: [] as number[], serverMs: [] as number[] };

  constructor(
    root: HTMLElement,
    private readonly config: WorkspaceConfig,
  ) {
    this.label = config.labels[0]?.id ?? 0;
    buildLayout(root, config.image.name, config.projectUrl, config.prevUrl, config.nextUrl);
    this.canvas = new Canvas(byId<HTMLDivElement>("ws-stage"), config.image.width, config.image.height, {
      imageClick: (pixel, positive) => this.click(pixel.x, pixel.y, positive),
      objectClick: (id, force, pixel, positive) => {
        // On an object: select it, unless an object is under way or Shift forces a click.
        if (force || this.clicking.clicks.length) this.click(pixel.x, pixel.y, positive);
        else this.select(id);
      },
      markerClick: (index) => this.clicking.remove(index),
      vertexSelected: (ref) => {
        this.canvas.selectedVertex = ref;
      },
      vertexMoved: (ref, x, y, done) => this.edits.moveVertex(ref, x, y, done),
      edgeDoubleClick: (x, y, tolerance) => this.edits.insertVertexNear(x, y, tolerance),
      objectDragged: (dx, dy) => this.edits.translateSelected(dx, dy),
      viewChanged: () => undefined,
    });
    this.edits = new ObjectEdits(config.image, this.history, {
      touch: (obj, delayMs) => void this.saver.touch(obj, delayMs),
      changed: () => this.redraw(),
      dragging: (obj) => this.canvas.redrawSelected(this.drawn(obj)),
      flash: (message) => this.flash(message),
    });
    this.journal = "indexedDB" in globalThis ? new IndexedDbJournal() : new MemoryJournal();
    this.saver = new Saver(config.image.id, objectApi(config.image.id), this.journal, {
      objects: () => this.edits.objects,
      removeLocal: (obj) => this.edits.forget(obj),
      changed: () => this.redraw(),
      status: (state, unsaved, message) =>
        renderSave(state, unsaved, message, this.loginUrl(), () => {
          this.leaving = true; // the journal holds the edits: no warning for this navigation
        }),
      conflict: (conflict) => this.showConflict(conflict),
    });
    this.socket = new AnnotateSocket(socketUrl(config.image.id), {
      opened: (ready) => this.onReady(ready),
      message: (msg) => this.clicking.message(msg),
      closed: (code) => this.setConnection(code === 4401 ? "logged-out" : code >= 4400 ? "refused" : "reconnecting"),
    });
    this.clicking = new Clicking(
      {
        send: (msg) => this.socket.send(msg),
        markers: (clicks) => this.canvas.drawMarkers([...clicks]),
        showMask: (mask, label, pressedAt) => this.showMask(mask, label, pressedAt),
        finished: (obj) => this.edits.add(obj),
        flash: (message) => this.flash(message),
      },
      this.history,
    );
    this.clicking.setLabel(this.label);
    const run = this.actions();
    this.keys = new Keys({
      actions: run,
      pickLabel: (index) => config.labels[index] && this.pickLabel(config.labels[index].id),
      space: this.canvas,
      flash: (message) => this.flash(message),
    });
    bindControls({
      adjust: (brightness, contrast) => this.canvas.setAdjustments(brightness, contrast),
      opacity: (value) => this.setOpacity(value),
      opacityChosen: () => void request("PATCH", "/api/me/preferences/", { maskOpacity: this.maskOpacity }).catch(() => undefined),
      options: (change) => this.clicking.setOptions(change),
      buttons: { fit: run.fit, undo: run.undo, redo: run.redo, finish: run.finish, help: run.help },
      online: () => this.saver.schedule(0),
      // Logged in again in another tab: try the saves that the expired session refused.
      focused: () => this.saver.authLost && this.saver.retry(),
      unsavedWork: () => !this.leaving && (this.saver.unsaved > 0 || this.clicking.clicks.length > 0),
    });
    (window as unknown as { edgeflow: Workspace }).edgeflow = this; // for tests and the console: toScreen, metrics, state
  }

  async start(): Promise<void> {
    if (!(await this.canvas.loadImage(this.config.image.url))) {
      this.flash("The image could not be loaded; reload the page to try again.");
    }
    const imageId = this.config.image.id;
    const [server, pending, me, comments] = await Promise.all([
      request<ServerObject[]>("GET", `/api/images/${imageId}/objects/`),
      this.journal.pending(imageId),
      request<{ preferences: Record<string, unknown> }>("GET", "/api/me/").catch(() => ({ preferences: {} as Record<string, unknown> })),
      request<ReviewComment[]>("GET", `/api/images/${imageId}/comments/`).catch(() => [] as ReviewComment[]),
    ]);
    this.comments = comments;
    const pins = comments.flatMap((c, i) => (c.x !== null && c.y !== null ? [{ x: c.x, y: c.y, number: i + 1 }] : []));
    this.canvas.drawPins(pins);
    byId("ws-rejected").hidden = this.config.image.status !== "rejected";
    this.keys.use(me.preferences.shortcuts);
    this.setOpacity(typeof me.preferences.maskOpacity === "number" ? me.preferences.maskOpacity : this.maskOpacity);
    this.edits.objects = replay(server, pending);
    this.redraw();
    renderLabels(this.config.labels, this.label, (id) => this.pickLabel(id));
    if (!this.config.labels.length) this.flash("This project has no labels yet: a manager adds them first.");
    this.socket.connect();
    if (pending.length) this.saver.schedule(0); // replay the journal
    else void this.saver.flush();
    document.body.dataset.ready = "1";
  }

  // ------------------------------------------------------------------ test & console helpers
  toScreen(x: number, y: number): { x: number; y: number } {
    return this.canvas.clientPointOf(x, y);
  }

  state() {
    return {
      save: this.saver.state(),
      unsaved: this.saver.unsaved,
      connected: this.socket.open,
      objects: this.edits.objects.map((o) => ({ ...o })),
      selected: this.edits.selected,
      clicks: this.clicking.clicks.length,
      maskArea: this.clicking.mask?.area ?? 0,
      awaiting: this.clicking.awaiting,
    };
  }

  dropConnection(): void {
    this.socket.drop();
  }

  // ------------------------------------------------------------------ actions
  private actions(): Record<Action, () => void> {
    return {
      finish: () => this.clicking.finish(),
      undo: () => this.undo(),
      redo: () => this.redo(),
      cancel: () => this.cancel(),
      deleteSelected: () => {
        this.edits.deleteSelected(this.canvas.selectedVertex);
        this.canvas.selectedVertex = null;
      },
      previousImage: () => navigate(this.config.prevUrl),
      nextImage: () => navigate(this.config.nextUrl),
      fit: () => this.canvas.fitToScreen(),
      zoomIn: () => this.canvas.zoom(1.25),
      zoomOut: () => this.canvas.zoom(0.8),
      toggleMask: () => {
        this.maskVisible = !this.maskVisible;
        this.canvas.setMaskVisible(this.maskVisible);
      },
      help: () => this.keys.toggleHelp(),
    };
  }

  private click(x: number, y: number, positive: boolean): void {
    if (this.edits.selected) this.select(null);
    this.clicking.add(x, y, positive);
  }

  undo(): void {
    const entry = this.history.undo();
    if (entry?.kind === "clicks") this.clicking.restore(entry.before);
    else if (entry) this.edits.apply(entry.obj, entry.before);
  }

  redo(): void {
    const entry = this.history.redo();
    if (entry?.kind === "clicks") this.clicking.restore(entry.after);
    else if (entry) this.edits.apply(entry.obj, entry.after);
  }

  /** Escape: drop the object under way, or else the selection; close the help. */
  cancel(): void {
    if (!this.clicking.cancel()) this.select(null);
    byId("ws-help").hidden = true;
  }

  select(localId: string | null): void {
    this.edits.selected = localId;
    this.canvas.selectedVertex = null;
    this.redraw();
  }

  private pickLabel(id: number): void {
    this.label = id;
    this.clicking.setLabel(id);
    renderLabels(this.config.labels, this.label, (l) => this.pickLabel(l));
  }

  // ------------------------------------------------------------------ the socket
  /** Connected (again): the mask option controls take the server's defaults once; the object under way resumes. */
  private onReady(ready: ReadyMessage): void {
    this.setConnection("connected");
    if (!this.optionsShown) showOptions(ready.options);
    this.optionsShown = true;
    this.clicking.opened(ready.options);
  }

  private showMask(mask: MaskMessage | null, label: number, pressedAt?: number): void {
    // The mask may be smaller than the image (a huge image is segmented at a working size): the canvas stretches it.
    this.canvas.paintMask(mask && mask.area > 0 ? maskPixels(mask.rle, hexToRgb(this.labelColor(label))) : null);
    if (!mask || pressedAt === undefined) return;
    const serverMs = (mask.latency.total_s ?? 0) * 1000;
    requestAnimationFrame(() => {
      const ms = performance.now() - pressedAt;
      this.metrics.clickToPaintMs.push(ms);
      this.metrics.serverMs.push(serverMs);
      const latency = byId("ws-latency");
      latency.textContent = `click→mask ${Math.round(ms)} ms (model ${Math.round(serverMs)} ms)`;
      latency.dataset.ms = String(Math.round(ms));
    });
  }

  private setConnection(state: Connection): void {
    const el = byId("ws-connection");
    el.dataset.state = state;
    el.textContent = CONNECTION_TEXT[state];
    if (state === "logged-out") {
      // Finished objects are journaled and saved after the login; the page warns about clicks still under way.
      el.append(" — ", h("a", { href: this.loginUrl(), id: "ws-relogin" }, "Log in again"));
    }
  }

  // ------------------------------------------------------------------ drawing & panels
  private labelColor(id: number): string {
    return this.config.labels.find((l) => l.id === id)?.color ?? "#ff00ff";
  }

  private drawn(obj: LocalObject): DrawnObject {
    return { id: obj.localId, polygons: obj.polygons, color: this.labelColor(obj.label), selected: obj.localId === this.edits.selected, visible: obj.visible };
  }

  private redraw(): void {
    const objects = this.edits.objects;
    this.canvas.drawObjects(objects.filter((o) => !o.deleted).map((o) => this.drawn(o)), this.maskOpacity);
    renderObjects(objects, this.config.labels, this.edits.selected, {
      select: (obj) => this.select(obj.localId),
      remove: (obj) => this.edits.remove(obj),
      relabel: (obj, label) => this.edits.relabel(obj, label),
      toggle: (obj) => {
        obj.visible = !obj.visible;
        this.redraw();
      },
    });
    renderComments(this.comments, objects, (obj) => this.select(obj.localId));
  }

  private setOpacity(value: number): void {
    this.maskOpacity = Math.max(0, Math.min(1, value));
    byId<HTMLInputElement>("ws-opacity").value = String(Math.round(this.maskOpacity * 100));
    this.canvas.setMaskOpacity(this.maskOpacity);
    this.redraw();
  }

  private flash(message: string): void {
    byId("ws-latency").textContent = message;
  }

  private showConflict(conflict: Conflict): void {
    this.canvas.showGhost(conflict.current?.polygons ?? null);
    renderConflict(conflict.obj, conflict.current, this.config.labels, (choice) => {
      byId("ws-conflict").hidden = true;
      this.canvas.showGhost(null);
      void this.saver.resolve(conflict.obj, choice).then(() => this.redraw());
    });
  }

  private loginUrl(): string {
    return `${this.config.loginUrl}?next=${encodeURIComponent(location.pathname)}`;
  }
}
