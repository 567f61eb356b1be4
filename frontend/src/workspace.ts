/**
 * The annotation workspace, composed of its parts: the canvas and panels; the click session (clicking.ts:
 * clicks → websocket → live mask → a finished object, or a re-opened object's new shape); the objects and their
 * polygon edits (objectEdits.ts); one undo History over both; autosave through the REST API with an IndexedDB
 * journal (saver.ts, journal.ts); the toolbar (controls.ts), the keyboard (keys.ts), the truthful status bar
 * (statusbar.ts), leaving the image settled (settle.ts) and submitting the batch (submit.ts); teamwork
 * (teamwork.ts): presence, a lease on the object being edited, other people's changes merged in live. A source
 * image (16-bit, DICOM…) has the Display panel (displayPanel.ts: presets, window/level, stretch, bands, invert;
 * the newest mapping PUT after a pause, displaySync.ts) and, for a stack, the slice control (slicePanel.ts: slider,
 * `,` / `.`): only the current slice's objects are drawn and listed, new ones lie on it.
 */

import { ApiError, objectApi, type ReviewComment, request, type ServerObject } from "./api";
import { Canvas, type DrawnObject } from "./canvas";
import { Clicking, type ClicksEntry, type Finished, type Pending } from "./clicking";
import type { Me, WorkspaceConfig } from "./config";
import { Link } from "./connection";
import { bindControls, preferenceOf, preferredOptions, showOptions } from "./controls";
import { byId } from "./dom";
import { History } from "./history";
import { IndexedDbJournal, type Journal, MemoryJournal, replay } from "./journal";
import { Keys } from "./keys";
import { maskPixels } from "./maskpixels";
import type { CommentAddedMessage, DisplayChangedMessage, ImageChangedMessage } from "./collabMessages";
import { type DisplayMapping, describeDisplay, displayKey, type SourceInfo, sliceUrl } from "./displayMapping";
import { DisplayPanel } from "./displayPanel";
import { LatestSender } from "./displaySync";
import { SlicePanel } from "./slicePanel";
import { clampSlice, onSlice, sliceFromHash, sliceHash, sliceText } from "./slices";
import type { MaskMessage, MaskOptions, ReadyMessage, ServerMessage } from "./messages";
import { ObjectEdits, type ObjectEntry } from "./objectEdits";
import { renderComments, renderObjects, numberText } from "./objectList";
import { type LocalObject, newObject } from "./objects";
import { buildLayout, renderConflict, renderLabels } from "./panels";
import { hexToRgb } from "./rle";
import { type Conflict, Saver } from "./saver";
import { finishUnderWay, settle } from "./settle";
import { type Action, DEFAULT_BINDINGS } from "./shortcuts";
import type { AnnotateSocket } from "./socket";
import { renderModel, renderSave } from "./statusbar";
import { SubmitDialog, submittable } from "./submit";
import { Teamwork } from "./teamwork";

/** What undo/redo goes through: changes of the click list and edits of objects, in the order they were made. */
type Entry = ClicksEntry | ObjectEntry;

/** What the image API answers about a source after a display change (ImageOutput). */
interface ShownImage {
  file_url: string;
  display: DisplayMapping;
}

export class Workspace {
  readonly canvas: Canvas;
  readonly socket: AnnotateSocket;
  private readonly link: Link;
  readonly saver: Saver;
  readonly clicking: Clicking;
  readonly edits: ObjectEdits;
  readonly team: Teamwork;
  private readonly history = new History<Entry>();
  private readonly journal: Journal;
  private readonly keys: Keys;
  private readonly submit: SubmitDialog | null;
  private comments: ReviewComment[] = [];
  private conflictShown: LocalObject | null = null;
  private imageStatus: string;
  private label: number;
  private maskOpacity = 0.5;
  private maskVisible = true;
  private preferred: Partial<MaskOptions> = {};
  private optionsShown = false;
  private pending: Pending = "idle";
  private leaving = false; // settled (or the journal holds the edits): no warning for this navigation
  private going = false;
  private me: string;
  // A source (16-bit, DICOM…): how it is shown, where slice 0's rendering is, the slice shown now.
  private readonly source: SourceInfo | null;
  private display: DisplayMapping | null = null;
  private imageUrl: string;
  slice = 0;
  private wantedSlice = 0;
  private sliceSwitching = false;
  private readonly displayPanel: DisplayPanel | null = null;
  private readonly slicePanel: SlicePanel | null = null;
  private readonly displaySender: LatestSender<DisplayMapping, ShownImage> | null = null;
  readonly metrics = { clickToPaintMs: [] as number[], serverMs: [] as number[] };

  constructor(
    root: HTMLElement,
    private readonly config: WorkspaceConfig,
  ) {
    this.label = config.labels[0]?.id ?? 0;
    this.imageStatus = config.image.status ?? "";
    this.me = config.user?.username ?? "you";
    const batch = submittable(config.batch) ? config.batch : null;
    buildLayout(root, { title: config.image.name, backUrl: config.projectUrl, prevUrl: config.prevUrl, nextUrl: config.nextUrl, submittable: !!batch });
    this.source = config.image.source ?? null;
    this.imageUrl = config.image.url;
    if (this.source) {
      const source = this.source;
      this.display = { ...source.display };
      if (source.slices > 1) {
        const keys = { previous: DEFAULT_BINDINGS.previousSlice, next: DEFAULT_BINDINGS.nextSlice };
        this.slicePanel = new SlicePanel(byId("ws-source"), source.slices, (index) => void this.goToSlice(index), keys);
        this.slice = this.wantedSlice = sliceFromHash(location.hash, source.slices);
        window.addEventListener("hashchange", () => void this.goToSlice(sliceFromHash(location.hash, source.slices)));
      }
      this.displayPanel = new DisplayPanel(byId("ws-source"), source, (display) => this.displayChosen(display));
      this.displaySender = new LatestSender((display) => request<ShownImage>("PUT", source.displayUrl, { display }), {
        done: (image) => this.displayApplied(image, null),
        failed: (exc) => this.displayRefused(exc),
      });
    }
    this.canvas = new Canvas(byId<HTMLDivElement>("ws-stage"), config.image.width, config.image.height, {
      imageClick: (pixel, positive) => this.click(pixel.x, pixel.y, positive),
      objectClick: (id, force, pixel, positive) => {
        // On an object: select it, unless an object is under way or Shift forces a click.
        if (force || this.clicking.active) this.click(pixel.x, pixel.y, positive);
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
    this.team = new Teamwork({
      send: (msg) => this.socket.send(msg),
      connected: () => this.socket.open,
      objects: () => this.edits.objects,
      setObjects: (objects) => {
        this.edits.objects = objects;
        if (this.edits.selected && !this.edits.selectedObject) this.setSelected(null);
      },
      selected: () => this.edits.selectedObject,
      underWay: () => this.edits.objects.find((o) => o.localId === this.clicking.target),
      setSelected: (localId) => this.setSelected(localId),
      list: () => objectApi(config.image.id).list(),
      redraw: () => this.redraw(),
      flash: (message) => this.flash(message),
      leaseFreed: (obj) => this.saver.leaseFreed(obj),
      leaseLost: (obj, reason, by) => this.saver.leaseLost(obj, reason, by),
      imageChanged: (msg) => this.imageChanged(msg),
      commentAdded: (msg) => this.commentAdded(msg),
      displayChanged: (msg) => void this.displayChanged(msg),
    });
    this.journal = "indexedDB" in globalThis ? new IndexedDbJournal() : new MemoryJournal();
    this.saver = new Saver(config.image.id, objectApi(config.image.id), this.journal, {
      objects: () => this.edits.objects,
      removeLocal: (obj) => {
        this.team.gone(obj);
        this.edits.forget(obj);
      },
      changed: () => this.redraw(),
      status: (state, unsaved, message) => renderSave(state, unsaved, message, this.loginUrl(), () => (this.leaving = true)),
      conflict: (conflict) => this.showConflict(conflict),
      cleared: (conflict) => conflict.obj === this.conflictShown && this.hideConflict(),
    });
    this.link = new Link(config.image.id, {
      opened: (ready) => this.onReady(ready),
      message: (msg) => this.team.message(msg) || this.modelStatus(msg) || this.clicking.message(msg),
      closed: () => {
        this.team.closed();
        this.clicking.closed();
      },
      pending: () => this.pending,
      waiting: () => this.clicking.waitingText,
      loginUrl: () => this.loginUrl(),
    });
    this.socket = this.link.socket;
    this.clicking = new Clicking(
      {
        send: (msg) => this.socket.send(msg),
        markers: (clicks, pending) => {
          this.pending = pending;
          this.canvas.drawMarkers([...clicks], pending);
          this.link.show();
        },
        showMask: (mask, label, pressedAt) => this.showMask(mask, label, pressedAt),
        finished: (result) => this.finished(result),
        flash: (message) => this.flash(message),
      },
      this.history,
    );
    this.clicking.setLabel(this.label);
    this.clicking.setSlice(this.slice);
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
      opacityChosen: () => this.remember({ maskOpacity: this.maskOpacity }),
      options: (change) => this.clicking.setOptions(change),
      optionsChosen: (change) => {
        this.preferred = { ...this.preferred, ...change };
        this.remember(preferenceOf(change));
      },
      buttons: { fit: run.fit, undo: run.undo, redo: run.redo, finish: run.finish, help: run.help, addClicks: run.addClicks },
      go: (url) => void this.go(url),
      online: () => this.saver.schedule(0),
      // Logged in again in another tab: try the saves that the expired session refused.
      focused: () => this.saver.authLost && this.saver.retry(),
      unsavedWork: () => !this.leaving && (this.saver.unsaved > 0 || this.clicking.clicks.length > 0),
    });
    this.submit = batch
      ? new SubmitDialog(batch, {
          settle: () => this.settle(),
          submitted: () => {
            this.leaving = true;
            location.href = config.projectUrl;
          },
        })
      : null;
    if (this.submit) byId("ws-submit").addEventListener("click", () => void this.submit?.open());
    (window as unknown as { edgeflow: Workspace }).edgeflow = this; // for tests and the console: toScreen, metrics, state
  }

  async start(): Promise<void> {
    this.link.show();
    this.showShown();
    const tiles = this.config.image.tiles; // a gigapixel image: its pyramid, tile by tile, never its file
    if (!(await (tiles ? this.canvas.loadTiles(tiles) : this.canvas.loadImage(sliceUrl(this.imageUrl, this.slice))))) {
      this.flash("The image could not be loaded; reload the page to try again.");
    }
    const imageId = this.config.image.id;
    const [server, pending, me, comments] = await Promise.all([
      request<ServerObject[]>("GET", `/api/images/${imageId}/objects/`),
      this.journal.pending(imageId),
      request<Me>("GET", "/api/me/").catch((): Me => ({ preferences: {} })),
      request<ReviewComment[]>("GET", `/api/images/${imageId}/comments/`).catch(() => [] as ReviewComment[]),
    ]);
    this.comments = comments;
    this.me = me.username ?? this.me;
    this.drawPins();
    this.showStatus();
    this.keys.use(me.preferences.shortcuts);
    this.preferred = preferredOptions(me.preferences);
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
      connections: this.socket.opens,
      longestRetryWaitMs: this.socket.longestWaitMs,
      connection: this.link.state,
      objects: this.edits.objects.map((o) => ({ ...o })),
      selected: this.edits.selected,
      clicks: this.clicking.clicks.length,
      maskArea: this.clicking.mask?.area ?? 0,
      awaiting: this.clicking.awaiting,
      pending: this.pending,
      reopened: this.clicking.target,
      options: this.clicking.currentOptions,
      highlighted: this.canvas.objects.highlightedId,
      team: this.team.state(),
      imageStatus: this.imageStatus,
      slice: this.slice,
      display: this.display,
      imageUrl: this.canvas.imageUrl,
      displaySending: this.displaySender?.busy ?? false,
    };
  }

  dropConnection(): void {
    this.socket.drop();
  }

  // ------------------------------------------------------------------ actions
  private actions(): Record<Action, () => void> {
    return {
      finish: () => void this.clicking.finish(),
      addClicks: () => this.addClicks(this.edits.selectedObject),
      undo: () => this.undo(),
      redo: () => this.redo(),
      cancel: () => this.cancel(),
      deleteSelected: () => {
        this.edits.deleteSelected(this.canvas.selectedVertex);
        this.canvas.selectedVertex = null;
      },
      previousImage: () => void this.go(this.config.prevUrl),
      nextImage: () => void this.go(this.config.nextUrl),
      fit: () => this.canvas.fitToScreen(),
      zoomIn: () => this.canvas.zoom(1.25),
      zoomOut: () => this.canvas.zoom(0.8),
      previousSlice: () => void this.goToSlice(this.wantedSlice - 1),
      nextSlice: () => void this.goToSlice(this.wantedSlice + 1),
      toggleMask: () => {
        this.maskVisible = !this.maskVisible;
        this.canvas.setMaskVisible(this.maskVisible);
      },
      help: () => this.keys.toggleHelp(),
    };
  }

  private click(x: number, y: number, positive: boolean): void {
    if (this.edits.selected) this.select(null);
    if (!this.socket.open) this.socket.reconnectNow(); // it may be back already: do not wait for the backoff
    this.clicking.add(x, y, positive);
  }

  /** Re-open a finished object for clicks: its stored clicks start the session; finishing replaces its shape. */
  addClicks(obj: LocalObject | undefined): void {
    if (this.clicking.active) return this.flash("Finish (Space) or drop (Escape) the object under way first.");
    if (!obj || obj.deleted) return this.flash("Select an object first (click it), then press E to add clicks to it.");
    if (this.team.blocked(obj)) return;
    this.clicking.reopen({ localId: obj.localId, label: obj.label, clicks: obj.clicks }); // first: its lease is kept
    this.select(null);
    this.redraw();
    const name = `Object ${numberText(obj)}`;
    this.flash(
      obj.clicks.length
        ? `${name} re-opened with its ${obj.clicks.length} clicks: add clicks; Space saves the new shape, Escape keeps the old one.`
        : `${name} has no stored clicks: your clicks make a new mask that will replace its shape (Space); Escape keeps it.`,
    );
  }

  private finished(result: Finished): void {
    const target = result.target ? this.edits.objects.find((o) => o.localId === result.target && !o.deleted) : undefined;
    if (target) this.edits.reshape(target, result);
    else this.edits.add(newObject(result.label, result.polygons, result.placed, result.seconds, result.clicks, result.slice));
  }

  undo(): void {
    const entry = this.history.undo();
    if (entry?.kind === "object" && this.team.blocked(entry.obj)) return void this.history.redo(); // put back
    if (entry?.kind === "clicks") this.clicking.restore(entry.before);
    else if (entry) this.edits.apply(entry.obj, entry.before);
    this.showSliceOf(entry);
  }

  redo(): void {
    const entry = this.history.redo();
    if (entry?.kind === "object" && this.team.blocked(entry.obj)) return void this.history.undo(); // put back
    if (entry?.kind === "clicks") this.clicking.restore(entry.after);
    else if (entry) this.edits.apply(entry.obj, entry.after);
    this.showSliceOf(entry);
  }

  /** An undone or redone edit of an object on another slice: that slice is shown (the change is seen). */
  private showSliceOf(entry: Entry | undefined): void {
    if (entry?.kind === "object" && entry.obj.slice !== this.slice && !this.clicking.active) void this.goToSlice(entry.obj.slice);
  }

  /** Escape: drop the object under way (a re-opened object keeps its shape), or else the selection; close dialogs. */
  cancel(): void {
    if (this.clicking.cancel()) this.redraw();
    else this.select(null);
    byId("ws-help").hidden = true;
    byId("ws-submit-dialog").hidden = true;
  }

  /** Select an object for editing, at once; a saved one's lease is asked for and a refusal deselects it (teamwork.ts). */
  select(localId: string | null): void {
    const obj = localId === null ? undefined : this.edits.objects.find((o) => o.localId === localId);
    if (obj && localId !== this.edits.selected && !this.team.request(obj)) return this.redraw();
    this.setSelected(localId);
  }

  private setSelected(localId: string | null): void {
    this.edits.selected = localId;
    this.canvas.selectedVertex = null;
    this.redraw();
  }

  private pickLabel(id: number): void {
    this.label = id;
    this.clicking.setLabel(id);
    renderLabels(this.config.labels, this.label, (l) => this.pickLabel(l));
  }

  /** The object under way finished and everything saved: null when done, else why not (shown). */
  settle(): Promise<string | null> {
    const drop = () => this.clicking.cancel() && this.redraw();
    return settle({ clicking: this.clicking, saver: this.saver, drop });
  }

  /** F / S, Prev / Next: finish the object under way, save, then go — or stay and say why. */
  private async go(url: string | null): Promise<void> {
    if (!url || url.endsWith("#") || this.going) return;
    this.going = true;
    if (this.clicking.active || this.saver.unsaved) this.flash("Finishing and saving before moving on…");
    const why = (await this.settle()) ?? (this.clicking.active ? "A new object was started meanwhile: press again to finish it and move on." : null);
    this.going = false;
    if (why) return this.flash(why);
    this.leaving = true;
    location.href = url;
  }

  // ------------------------------------------------------------------ the socket
  /** Connected (again): the mask options (server defaults, the user's own) shown once; the object under way resumes. */
  private onReady(ready: ReadyMessage): void {
    const options = { ...ready.options, ...this.preferred };
    if (!this.optionsShown) showOptions(options);
    this.optionsShown = true;
    this.clicking.opened(options);
    this.team.ready(ready.team);
    const inference = ready.inference;
    renderModel(!inference || inference.ready, inference?.reason, inference?.message);
    byId("ws-read-only").hidden = ready.team.can_edit;
    this.displayPanel?.setEnabled(ready.team.can_edit);
  }

  /** The model's readiness changed (`model_status`); a mask shows it is ready too (showMask). */
  private modelStatus(msg: ServerMessage): boolean {
    if (msg.type !== "model_status") return false;
    renderModel(msg.ready, msg.reason, msg.message);
    return true;
  }

  /** A review decision (or another status change) made elsewhere. */
  private imageChanged(msg: ImageChangedMessage): void {
    if (msg.image.id !== this.config.image.id) return;
    this.imageStatus = msg.image.status;
    this.showStatus();
    this.flash(`This image is now ${msg.image.status}${msg.by ? ` (${msg.by.name})` : ""}.`);
  }

  private showStatus(): void {
    byId("ws-rejected").hidden = this.imageStatus !== "rejected";
    byId("ws-title").dataset.status = this.imageStatus;
  }

  private commentAdded(msg: CommentAddedMessage): void {
    if (this.comments.some((c) => c.id === msg.comment.id)) return;
    this.comments = [...this.comments, msg.comment];
    this.drawPins();
    this.redraw();
  }

  private drawPins(): void {
    const pins = this.comments.flatMap((c, i) => (c.x !== null && c.y !== null ? [{ x: c.x, y: c.y, number: i + 1 }] : []));
    this.canvas.drawPins(pins);
  }

  private showMask(mask: MaskMessage | null, label: number, pressedAt?: number): void {
    // The mask may be smaller than the image (a huge image is segmented at a working size): the canvas stretches it
    // over the image, or over its box (a tiled image's mask covers the zoom-in box only).
    const pixels = mask && mask.area > 0 ? maskPixels(mask.rle, hexToRgb(this.labelColor(label))) : null;
    this.canvas.paintMask(pixels, mask?.mask_box ?? null);
    if (mask) renderModel(true, null);
    if (!mask || pressedAt === undefined) return;
    const serverMs = (mask.latency.total_s ?? 0) * 1000;
    requestAnimationFrame(() => {
      const ms = performance.now() - pressedAt;
      this.metrics.clickToPaintMs.push(ms);
      this.metrics.serverMs.push(serverMs);
      const latency = byId("ws-latency");
      const engine = mask.engine ? ` · ${mask.engine}` : "";
      latency.textContent = `click→mask ${Math.round(ms)} ms (model ${Math.round(serverMs)} ms${engine})`;
      latency.dataset.ms = String(Math.round(ms));
      latency.dataset.engine = mask.engine ?? "";
    });
  }

  // ------------------------------------------------------------------ drawing & panels
  private labelColor(id: number): string {
    return this.config.labels.find((l) => l.id === id)?.color ?? "#ff00ff";
  }

  private drawn(obj: LocalObject): DrawnObject {
    const reopened = obj.localId === this.clicking.target;
    const lockedBy = this.team.holderOf(obj);
    return { id: obj.localId, polygons: obj.polygons, color: this.labelColor(obj.label), selected: obj.localId === this.edits.selected, visible: obj.visible, reopened, lockedBy };
  }

  private redraw(): void {
    const all = this.edits.objects;
    const objects = onSlice(all, this.slice); // a stack: the current slice's objects only
    this.canvas.drawObjects(objects.filter((o) => !o.deleted).map((o) => this.drawn(o)), this.maskOpacity);
    this.slicePanel?.show(this.slice, all.filter((o) => !o.deleted).length - objects.filter((o) => !o.deleted).length);
    renderObjects(
      objects,
      this.config.labels,
      this.edits.selected,
      this.me,
      {
        select: (obj) => this.select(obj.localId),
        remove: (obj) => (this.team.blocked(obj) ? this.redraw() : this.edits.remove(obj)),
        relabel: (obj, label) => (this.team.blocked(obj) ? this.redraw() : this.edits.relabel(obj, label)),
      toggle: (obj) => {
        obj.visible = !obj.visible;
        this.redraw();
      },
        addClicks: (obj) => this.addClicks(obj),
        hover: (obj) => this.canvas.objects.highlight(obj?.localId ?? null),
        takeOver: this.team.canBreak ? (obj) => void this.takeOver(obj) : undefined,
      },
      (obj) => this.team.holderOf(obj),
    );
    renderComments(this.comments, all, (obj) => void this.selectAnywhere(obj));
    this.team.sync(); // hold the lease on what is being edited now, and no other
  }

  /** A manager ends someone's lock on `obj` (DELETE …/lease/) and selects it once the lease list frees it. */
  private async takeOver(obj: LocalObject): Promise<void> {
    if (obj.serverId === null) return;
    try {
      await request("DELETE", `/api/objects/${obj.serverId}/lease/`);
    } catch (exc) {
      if (!(exc instanceof ApiError && exc.status === 404)) {
        this.flash(`Could not take the object over: ${exc instanceof Error ? exc.message : String(exc)}`);
        return;
      }
    }
    this.team.forget(obj);
    this.select(obj.localId);
  }

  // ------------------------------------------------------------------ slices and display (sources)
  /** Go to slice `index` of a stack: the object under way is finished first (as leaving the image does). */
  private async goToSlice(index: number): Promise<void> {
    const count = this.source?.slices ?? 1;
    if (count <= 1) return;
    this.wantedSlice = clampSlice(index, count);
    if (this.sliceSwitching) return; // the newest wanted slice is taken once the object under way is finished
    if (this.clicking.active && this.clicking.sessionSlice !== this.wantedSlice) {
      this.sliceSwitching = true;
      const why = await finishUnderWay({ clicking: this.clicking, drop: () => this.clicking.cancel() && this.redraw() });
      this.sliceSwitching = false;
      if (why) {
        this.wantedSlice = this.slice;
        this.redraw(); // the slider back where it was
        return this.flash(`Still on ${sliceText(this.slice, count)}: ${why}`);
      }
    }
    const target = this.wantedSlice;
    if (target === this.slice) return this.redraw();
    this.slice = target;
    this.clicking.setSlice(target);
    if (this.edits.selectedObject && this.edits.selectedObject.slice !== target) this.setSelected(null);
    history.replaceState(null, "", sliceHash(target));
    this.redraw();
    this.showShown();
    await this.showRendering();
  }

  /** An object of another slice (a comment names it): its slice is shown, then it is selected. */
  private async selectAnywhere(obj: LocalObject): Promise<void> {
    if (obj.slice !== this.slice) await this.goToSlice(obj.slice);
    if (obj.slice === this.slice) this.select(obj.localId);
  }

  /** The current slice as shown now (a new slice, or a new display mapping). */
  private async showRendering(): Promise<void> {
    const url = sliceUrl(this.imageUrl, this.slice);
    if (!(await this.canvas.replaceImage(url)) && this.canvas.imageUrl !== url && sliceUrl(this.imageUrl, this.slice) === url) {
      this.flash("The image could not be loaded; reload the page to try again.");
    }
  }

  private displayChosen(display: DisplayMapping): void {
    this.displaySender?.push(display);
    this.showShown(display, "applying…");
  }

  /** A mapping is in force (ours, answered by the PUT; or someone else's): its rendering is shown. */
  private displayApplied(image: ShownImage, by: string | null): void {
    this.display = image.display;
    this.imageUrl = image.file_url;
    this.displayPanel?.error(null);
    if (by !== null) this.displayPanel?.show(image.display);
    this.showShown();
    this.clicking.renderingChanged(); // the object under way is segmented on what is shown now
    void this.showRendering();
    if (by !== null && this.source) this.flash(`${by} changed the display: ${describeDisplay(image.display, this.source.presets, this.source.bands)}.`);
  }

  private displayRefused(exc: unknown): void {
    const why = exc instanceof ApiError ? exc.detail : "the server cannot be reached";
    this.displayPanel?.error(`Not applied: ${why}. The image is still shown as before; change a value to try again.`);
    this.showShown();
  }

  /** `display_changed`: someone else (or our own change, echoed: ignored) shows the image differently now. */
  private async displayChanged(msg: DisplayChangedMessage): Promise<void> {
    if (msg.image !== this.config.image.id || !this.source) return;
    const key = displayKey(msg.display as unknown as DisplayMapping);
    if (key === displayKey(this.display) || this.displaySender?.pending.some((d) => displayKey(d) === key)) return;
    try {
      const image = await request<ShownImage>("GET", `/api/images/${this.config.image.id}/`);
      this.displayApplied(image, msg.by?.name ?? "Someone");
    } catch {
      this.flash("The display was changed by someone else: reload the page to see it.");
    }
  }

  /** The status line: the slice and the display mapping shown (sources only). */
  private showShown(display: DisplayMapping | null = this.display, note = ""): void {
    const source = this.source;
    if (!source || !display) return;
    const parts = [source.slices > 1 ? sliceText(this.slice, source.slices) : "", describeDisplay(display, source.presets, source.bands), note];
    byId("ws-shown").textContent = parts.filter(Boolean).join(" · ");
  }

  private setOpacity(value: number): void {
    this.maskOpacity = Math.max(0, Math.min(1, value));
    byId<HTMLInputElement>("ws-opacity").value = String(Math.round(this.maskOpacity * 100));
    this.canvas.setMaskOpacity(this.maskOpacity);
    this.redraw();
  }

  private remember(preferences: Record<string, unknown>): void {
    void request("PATCH", "/api/me/preferences/", preferences).catch(() => this.flash("Could not store the preference."));
  }

  private flash(message: string): void {
    byId("ws-latency").textContent = message;
  }

  private showConflict(conflict: Conflict): void {
    this.conflictShown = conflict.obj;
    this.canvas.showGhost(conflict.current?.polygons ?? null);
    const choose = (choice: "mine" | "theirs") => {
      this.hideConflict();
      void this.saver.resolve(conflict.obj, choice).then(() => this.redraw());
    };
    renderConflict(conflict.obj, conflict.current, this.config.labels, choose, conflict.lock);
  }

  private hideConflict(): void {
    this.conflictShown = null;
    byId("ws-conflict").hidden = true;
    this.canvas.showGhost(null);
  }

  private loginUrl(): string {
    return `${this.config.loginUrl}?next=${encodeURIComponent(location.pathname)}`;
  }
}
