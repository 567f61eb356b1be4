/**
 * The annotation workspace: clicks → live mask over the websocket, Space → an editable polygon, autosave
 * through the REST API with an IndexedDB journal, and one undo history over clicks and polygon edits.
 */

import { objectApi, type ReviewComment, request, type ServerObject } from "./api";
import { Canvas, type Click, type DrawnObject } from "./canvas";
import { byId, h } from "./dom";
import { History } from "./history";
import { IndexedDbJournal, type Journal, MemoryJournal, replay } from "./journal";
import { type LocalObject, newObject } from "./objects";
import { buildLayout, type Label, renderComments, renderConflict, renderHelp, renderLabels, renderObjects, renderSave } from "./panels";
import { cloneShape, insertVertex, moveVertex, nearestEdge, removeVertex, type Shape, translate, type VertexRef } from "./polygon";
import { maskPixels } from "./maskpixels";
import { hexToRgb } from "./rle";
import { type Conflict, Saver } from "./saver";
import { type Action, actionFor, type Bindings, keyName, labelIndexFor, mergeBindings, overridesOf, rebind } from "./shortcuts";
import { AnnotateSocket, type ServerMessage, socketUrl } from "./socket";

export interface WorkspaceConfig {
  image: { id: number; width: number; height: number; name: string; url: string; status?: string };
  labels: Label[];
  projectUrl: string;
  prevUrl: string | null;
  nextUrl: string | null;
  loginUrl: string;
}

interface ClickSession {
  label: number;
  clicks: Click[];
  redo: Click[];
  startedAt: number;
  mask: ServerMessage | null; // the newest mask
  awaiting: number | null; // the seq whose mask is still to come
  finishWhenReady: boolean;
  started: boolean; // `start` was sent on the current connection
}

interface ObjectState {
  label: number;
  polygons: Shape;
  deleted: boolean;
}

type Entry =
  | { kind: "click" }
  | { kind: "clicks"; before: Click[]; after: Click[] }
  | { kind: "object"; obj: LocalObject; before: ObjectState; after: ObjectState };

export class Workspace {
  private objects: LocalObject[] = [];
  private selected: string | null = null;
  private comments: ReviewComment[] = [];
  private label: number;
  private session: ClickSession | null = null;
  private seq = 0;
  private readonly pressedAt = new Map<number, number>();
  private readonly history = new History<Entry>();
  private bindings: Bindings = mergeBindings({});
  private readonly canvas: Canvas;
  private readonly socket: AnnotateSocket;
  private readonly saver: Saver;
  private readonly journal: Journal;
  private options = { threshold: 0.5, largest_component: true };
  private maskOpacity = 0.5;
  private maskVisible = true;
  private dragStart: ObjectState | null = null;
  private rebinding: Action | null = null;
  private leaving = false;
  private finishing: { localId: string; resolve: (o: ServerObject | null) => void } | null = null;
  readonly metrics = { clickToPaintMs: [] as number[], serverMs: [] as number[] };

  constructor(
    root: HTMLElement,
    private readonly config: WorkspaceConfig,
  ) {
    this.label = config.labels[0]?.id ?? 0;
    buildLayout(root, config.image.name, config.projectUrl, config.prevUrl, config.nextUrl);
    const { width, height } = config.image;
    this.canvas = new Canvas(byId<HTMLDivElement>("ws-stage"), width, height, {
      imageClick: (pixel, positive) => this.addClick(pixel.x, pixel.y, positive),
      objectClick: (id, force, pixel, positive) => {
        // On an object: select it, unless an object is under way or Shift forces a click.
        if (force || this.session?.clicks.length) this.addClick(pixel.x, pixel.y, positive);
        else this.select(id);
      },
      markerClick: (index) => this.removeClick(index),
      vertexSelected: (ref) => {
        this.canvas.selectedVertex = ref;
      },
      vertexMoved: (ref, x, y, done) => this.onVertexMoved(ref, x, y, done),
      edgeDoubleClick: (x, y, tolerance) => this.onEdgeDoubleClick(x, y, tolerance),
      objectDragged: (dx, dy) => this.onObjectDragged(dx, dy),
      viewChanged: () => undefined,
    });
    this.journal = "indexedDB" in globalThis ? new IndexedDbJournal() : new MemoryJournal();
    this.saver = new Saver(config.image.id, objectApi(config.image.id), this.journal, {
      objects: () => this.objects,
      removeLocal: (obj) => {
        this.objects = this.objects.filter((o) => o !== obj);
        this.redraw();
      },
      changed: () => this.redraw(),
      status: (state, unsaved, message) =>
        renderSave(state, unsaved, message, `${config.loginUrl}?next=${encodeURIComponent(location.pathname)}`, () => {
          this.leaving = true; // the journal holds the edits: no warning for this navigation
        }),
      conflict: (conflict) => this.showConflict(conflict),
      createViaSocket: (obj) => this.createViaSocket(obj),
    });
    this.socket = new AnnotateSocket(socketUrl(config.image.id), {
      message: (msg) => this.onMessage(msg),
      opened: () => this.onSocketOpened(),
      closed: (code) => this.setConnection(code === 4401 ? "logged-out" : code >= 4400 ? "refused" : "reconnecting"),
    });
    this.bindControls();
    this.bindKeys();
    (window as any).edgeflow = this; // for tests and the console: toScreen, metrics, state
  }

  async start(): Promise<void> {
    if (!(await this.canvas.loadImage(this.config.image.url))) {
      this.flash("The image could not be loaded; reload the page to try again.");
    }
    const [server, pending, me, comments] = await Promise.all([
      request<ServerObject[]>("GET", `/api/images/${this.config.image.id}/objects/`),
      this.journal.pending(this.config.image.id),
      request<{ preferences: Record<string, unknown> }>("GET", "/api/me/").catch(() => ({ preferences: {} as Record<string, unknown> })),
      request<ReviewComment[]>("GET", `/api/images/${this.config.image.id}/comments/`).catch(() => [] as ReviewComment[]),
    ]);
    this.comments = comments;
    const pins = comments.map((c, i) => ({ x: c.x, y: c.y, number: i + 1 })).filter((p) => p.x !== null && p.y !== null);
    this.canvas.drawPins(pins as { x: number; y: number; number: number }[]);
    byId("ws-rejected").hidden = this.config.image.status !== "rejected";
    this.bindings = mergeBindings(me.preferences.shortcuts);
    this.setOpacity(typeof me.preferences.maskOpacity === "number" ? me.preferences.maskOpacity : this.maskOpacity);
    this.objects = replay(server, pending);
    this.redraw();
    renderLabels(this.config.labels, this.label, (id) => this.pickLabel(id));
    if (!this.config.labels.length) this.flash("This project has no labels yet: a manager adds them first.");
    this.socket.connect();
    if (pending.length) this.saver.schedule(0); // replay the journal
    else this.saver.flush();
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
      objects: this.objects.map((o) => ({ ...o })),
      selected: this.selected,
      clicks: this.session?.clicks.length ?? 0,
      maskArea: this.session?.mask?.area ?? 0,
      awaiting: this.session?.awaiting ?? null,
    };
  }

  dropConnection(): void {
    this.socket.drop();
  }

  // ------------------------------------------------------------------ clicks → mask
  private addClick(x: number, y: number, positive: boolean): void {
    if (this.selected) this.select(null);
    if (!this.session) this.session = { label: this.label, clicks: [], redo: [], startedAt: performance.now(), mask: null, awaiting: null, finishWhenReady: false, started: false };
    const session = this.session;
    session.clicks.push({ x, y, positive });
    session.redo = [];
    this.history.push({ kind: "click" });
    this.canvas.drawMarkers(session.clicks);
    const seq = this.nextSeq();
    this.pressedAt.set(seq, performance.now());
    if (!session.started) this.sendStart(seq);
    else this.sendSeq({ type: "click", seq, x, y, positive });
  }

  private nextSeq(): number {
    this.seq += 1;
    return this.seq;
  }

  /** `start` with the object's clicks: a new object, or resuming one after a reconnect or a marker removal. */
  private sendStart(seq: number): void {
    const session = this.session!;
    session.awaiting = session.clicks.length ? seq : null;
    const sent = this.socket.send({
      type: "start",
      label: session.label,
      ...this.options,
      ...(session.clicks.length ? { clicks: session.clicks, seq } : {}),
    });
    session.started = sent;
  }

  private sendSeq(msg: { type: string; seq: number; [k: string]: unknown }): void {
    const session = this.session!;
    session.awaiting = msg.seq;
    if (!this.socket.send(msg)) session.started = false; // resent as `start` with all clicks on reconnect
  }

  private removeClick(index: number): void {
    const session = this.session;
    if (!session) return;
    const before = session.clicks.slice();
    const after = before.filter((_, i) => i !== index);
    this.history.push({ kind: "clicks", before, after });
    this.setClicks(after);
  }

  private setClicks(clicks: Click[]): void {
    const session = this.session;
    if (!session) return;
    session.clicks = clicks.slice();
    session.redo = [];
    this.canvas.drawMarkers(session.clicks);
    const seq = this.nextSeq();
    this.pressedAt.set(seq, performance.now());
    if (clicks.length === 0) {
      this.sendSeq({ type: "reset", seq });
      return;
    }
    this.sendStart(seq);
  }

  private onSocketOpened(): void {
    this.setConnection("connected");
    const session = this.session;
    if (session) {
      session.started = false;
      if (session.clicks.length) this.sendStart(this.nextSeq()); // resume the object
    }
  }

  private onMessage(msg: ServerMessage): void {
    const session = this.session;
    switch (msg.type) {
      case "started":
        if (session) session.started = true;
        break;
      case "mask":
        if (session && msg.seq >= (session.awaiting ?? 0)) this.showMask(session, msg);
        break;
      case "superseded":
        break;
      case "saved":
        this.finishing?.resolve(msg.object as ServerObject);
        break;
      case "error":
        if (this.finishing && msg.seq === undefined) this.finishing.resolve(null);
        if (session && msg.seq === session.awaiting) session.awaiting = null;
        if (!["stale_seq"].includes(msg.code)) this.flash(msg.message || msg.code);
        break;
      case "pong":
        break;
    }
  }

  private showMask(session: ClickSession, msg: ServerMessage): void {
    session.mask = msg;
    if (msg.seq === session.awaiting) session.awaiting = null;
    const color = this.labelColor(session.label);
    // The mask may be smaller than the image (a huge image is segmented at a working size): the canvas stretches it.
    this.canvas.paintMask(msg.area > 0 ? maskPixels(msg.rle, hexToRgb(color)) : null);
    const t0 = this.pressedAt.get(msg.seq);
    this.pressedAt.delete(msg.seq);
    requestAnimationFrame(() => {
      if (t0 !== undefined) {
        const ms = performance.now() - t0;
        this.metrics.clickToPaintMs.push(ms);
        this.metrics.serverMs.push((msg.latency?.total_s ?? 0) * 1000);
        byId("ws-latency").textContent = `click→mask ${Math.round(ms)} ms (model ${Math.round((msg.latency?.total_s ?? 0) * 1000)} ms)`;
        byId("ws-latency").dataset.ms = String(Math.round(ms));
      }
    });
    if (session.finishWhenReady && session.awaiting === null) this.finish();
  }

  private setOptions(change: Partial<typeof this.options>): void {
    this.options = { ...this.options, ...change };
    if (this.session?.mask) {
      const seq = this.nextSeq();
      this.pressedAt.set(seq, performance.now());
      this.sendSeq({ type: "options", seq, ...change });
    }
  }

  // ------------------------------------------------------------------ finishing → polygon
  finish(): void {
    const session = this.session;
    if (!session) return;
    if (session.awaiting !== null) {
      session.finishWhenReady = true; // as soon as the newest mask is in
      return;
    }
    const polygons = session.mask?.polygons as Shape | undefined;
    if (!polygons?.length) {
      this.flash("The mask is empty: click on the object first.");
      return;
    }
    const seconds = (performance.now() - session.startedAt) / 1000;
    const obj = newObject(session.label, cloneShape(polygons), session.clicks.length, Math.round(seconds * 10) / 10);
    this.session = null;
    this.canvas.paintMask(null);
    this.canvas.drawMarkers([]);
    this.objects.push(obj);
    this.history.drop((e) => e.kind !== "object");
    const empty: ObjectState = { label: obj.label, polygons: obj.polygons, deleted: true };
    this.history.push({ kind: "object", obj, before: empty, after: this.stateOf(obj) });
    this.selected = obj.localId;
    this.redraw();
    this.finishing = null;
    if (this.socket.open) this.finishPending = obj.localId;
    void this.saver.touch(obj, 0);
  }

  private finishPending: string | null = null;

  /** The websocket's `finish` saves the object it computed; null → the saver falls back to REST. */
  private createViaSocket(obj: LocalObject): Promise<ServerObject | null> {
    if (this.finishPending !== obj.localId || !this.socket.open) return Promise.resolve(null);
    this.finishPending = null;
    return new Promise<ServerObject | null>((resolve) => {
      const timer = setTimeout(() => done(null), 15000);
      const done = (saved: ServerObject | null) => {
        clearTimeout(timer);
        this.finishing = null;
        resolve(saved);
      };
      this.finishing = { localId: obj.localId, resolve: done };
      if (!this.socket.send({ type: "finish", client_key: obj.localId })) done(null);
    }).then((saved) => {
      // The socket saved the mask's polygons; later local edits are saved by the next PATCH.
      // (and the label the object was started with: the annotator may have picked another since).
      if (saved && (saved.label !== obj.label || JSON.stringify(saved.polygons) !== JSON.stringify(obj.polygons))) obj.edits += 1;
      return saved;
    });
  }

  cancel(): void {
    if (this.session) {
      this.socket.send({ type: "cancel" });
      this.session = null;
      this.history.drop((e) => e.kind !== "object");
      this.canvas.paintMask(null);
      this.canvas.drawMarkers([]);
    } else this.select(null);
    byId("ws-help").hidden = true;
  }

  // ------------------------------------------------------------------ polygon edits
  private selectedObject(): LocalObject | undefined {
    return this.objects.find((o) => o.localId === this.selected);
  }

  private stateOf(obj: LocalObject): ObjectState {
    return { label: obj.label, polygons: cloneShape(obj.polygons), deleted: obj.deleted };
  }

  /** An edit: remember before/after for undo, then autosave. */
  private commit(obj: LocalObject, before: ObjectState): void {
    this.history.push({ kind: "object", obj, before, after: this.stateOf(obj) });
    this.redraw();
    void this.saver.touch(obj);
  }

  private onVertexMoved(ref: VertexRef, x: number, y: number, done: boolean): void {
    const obj = this.selectedObject();
    if (!obj) return;
    if (!this.dragStart) this.dragStart = this.stateOf(obj);
    obj.polygons = moveVertex(obj.polygons, ref, x, y, this.config.image);
    if (!done) {
      this.canvas.redrawSelected(this.drawn(obj));
      return;
    }
    obj.polygons = moveVertex(obj.polygons, ref, Math.round(x * 10) / 10, Math.round(y * 10) / 10, this.config.image);
    const before = this.dragStart;
    this.dragStart = null;
    this.commit(obj, before);
  }

  /** A double-click near an edge of the selected object (within `tolerance` px) adds a vertex there. */
  private onEdgeDoubleClick(x: number, y: number, tolerance: number): void {
    const obj = this.selectedObject();
    if (!obj) return;
    const edge = nearestEdge(obj.polygons, x, y);
    if (!edge || edge.distance > tolerance) return;
    const before = this.stateOf(obj);
    const [px, py] = edge.point; // on the edge itself, so the outline does not move
    obj.polygons = insertVertex(obj.polygons, edge.ref, Math.round(px * 10) / 10, Math.round(py * 10) / 10, this.config.image);
    this.commit(obj, before);
  }

  private onObjectDragged(dx: number, dy: number): void {
    const obj = this.selectedObject();
    if (!obj || (dx === 0 && dy === 0)) return;
    const before = this.stateOf(obj);
    obj.polygons = translate(obj.polygons, Math.round(dx * 10) / 10, Math.round(dy * 10) / 10, this.config.image);
    this.commit(obj, before);
  }

  deleteSelected(): void {
    const obj = this.selectedObject();
    if (!obj) return;
    const ref = this.canvas.selectedVertex;
    if (ref) {
      const next = removeVertex(obj.polygons, ref);
      this.canvas.selectedVertex = null;
      if (next) {
        const before = this.stateOf(obj);
        obj.polygons = next;
        this.commit(obj, before);
        return;
      }
      this.flash("A ring keeps at least 3 vertices; Delete again removes the object.");
      return;
    }
    this.removeObject(obj);
  }

  private removeObject(obj: LocalObject): void {
    const before = this.stateOf(obj);
    obj.deleted = true;
    if (this.selected === obj.localId) this.selected = null;
    this.commit(obj, before);
  }

  private applyState(obj: LocalObject, state: ObjectState): void {
    if (!state.deleted && !this.objects.includes(obj)) {
      // Its deletion reached the server: restore it there (same id and history), or create it again.
      if (obj.serverId !== null && obj.version !== null) obj.restoreFrom = { id: obj.serverId, version: obj.version };
      obj.serverId = null;
      obj.version = null;
      this.objects.push(obj);
    }
    obj.label = state.label;
    obj.polygons = cloneShape(state.polygons);
    obj.deleted = state.deleted;
    if (obj.deleted && this.selected === obj.localId) this.selected = null;
    this.redraw();
    void this.saver.touch(obj);
  }

  // ------------------------------------------------------------------ undo / redo
  undo(): void {
    const entry = this.history.undo();
    if (!entry) return;
    if (entry.kind === "object") return this.applyState(entry.obj, entry.before);
    const session = this.session;
    if (!session) return;
    if (entry.kind === "clicks") return this.setClicks(entry.before);
    const click = session.clicks.pop();
    if (click) session.redo.push(click);
    this.canvas.drawMarkers(session.clicks);
    const seq = this.nextSeq();
    this.pressedAt.set(seq, performance.now());
    this.sendSeq({ type: "undo", seq });
  }

  redo(): void {
    const entry = this.history.redo();
    if (!entry) return;
    if (entry.kind === "object") return this.applyState(entry.obj, entry.after);
    const session = this.session;
    if (!session) return;
    if (entry.kind === "clicks") return this.setClicks(entry.after);
    const click = session.redo.pop();
    if (click) session.clicks.push(click);
    this.canvas.drawMarkers(session.clicks);
    const seq = this.nextSeq();
    this.pressedAt.set(seq, performance.now());
    this.sendSeq({ type: "redo", seq });
  }

  // ------------------------------------------------------------------ drawing & panels
  private labelColor(id: number): string {
    return this.config.labels.find((l) => l.id === id)?.color ?? "#ff00ff";
  }

  private drawn(obj: LocalObject): DrawnObject {
    return { id: obj.localId, polygons: obj.polygons, color: this.labelColor(obj.label), selected: obj.localId === this.selected, visible: obj.visible };
  }

  private redraw(): void {
    const visible = this.objects.filter((o) => !o.deleted);
    this.canvas.drawObjects(visible.map((o) => this.drawn(o)), this.maskOpacity);
    renderObjects(this.objects, this.config.labels, this.selected, {
      select: (obj) => this.select(obj.localId),
      remove: (obj) => this.removeObject(obj),
      relabel: (obj, label) => {
        const before = this.stateOf(obj);
        obj.label = label;
        this.commit(obj, before);
      },
      toggle: (obj) => {
        obj.visible = !obj.visible;
        this.redraw();
      },
    });
    renderComments(this.comments, this.objects, (obj) => this.select(obj.localId));
  }

  select(localId: string | null): void {
    this.selected = localId;
    this.canvas.selectedVertex = null;
    this.redraw();
  }

  private pickLabel(id: number): void {
    this.label = id;
    if (this.session) this.session.label = id;
    renderLabels(this.config.labels, this.label, (l) => this.pickLabel(l));
  }

  private setOpacity(value: number): void {
    this.maskOpacity = Math.max(0, Math.min(1, value));
    (byId<HTMLInputElement>("ws-opacity")).value = String(Math.round(this.maskOpacity * 100));
    this.canvas.setMaskOpacity(this.maskOpacity);
    this.redraw();
  }

  private setConnection(state: "connected" | "reconnecting" | "refused" | "logged-out"): void {
    const el = byId("ws-connection");
    el.dataset.state = state;
    el.textContent = { connected: "● Connected", reconnecting: "○ Reconnecting…", refused: "✕ Not allowed to edit", "logged-out": "✕ Logged out" }[state];
    if (state === "logged-out") {
      // Finished objects are journaled and saved after the login; the page warns about clicks still under way.
      const login = h("a", { href: `${this.config.loginUrl}?next=${encodeURIComponent(location.pathname)}`, id: "ws-relogin" }, "Log in again");
      el.append(" — ", login);
    }
  }

  private flash(message: string): void {
    const el = byId("ws-latency");
    el.textContent = message;
  }

  private showConflict(conflict: Conflict): void {
    this.canvas.showGhost(conflict.current?.polygons ?? null);
    renderConflict(conflict.obj, conflict.current, this.config.labels, (choice) => {
      byId("ws-conflict").hidden = true;
      this.canvas.showGhost(null);
      void this.saver.resolve(conflict.obj, choice).then(() => this.redraw());
    });
  }

  // ------------------------------------------------------------------ controls & keys
  private bindControls(): void {
    const input = (id: string) => byId<HTMLInputElement>(id);
    const adjust = () => this.canvas.setAdjustments(Number(input("ws-brightness").value), Number(input("ws-contrast").value));
    input("ws-brightness").addEventListener("input", adjust);
    input("ws-contrast").addEventListener("input", adjust);
    input("ws-opacity").addEventListener("input", () => this.setOpacity(Number(input("ws-opacity").value) / 100));
    input("ws-opacity").addEventListener("change", () => void request("PATCH", "/api/me/preferences/", { maskOpacity: this.maskOpacity }).catch(() => undefined));
    input("ws-threshold").addEventListener("change", () => this.setOptions({ threshold: Number(input("ws-threshold").value) / 100 }));
    input("ws-largest").addEventListener("change", () => this.setOptions({ largest_component: input("ws-largest").checked }));
    byId("ws-fit").addEventListener("click", () => this.canvas.fitToScreen());
    byId("ws-undo").addEventListener("click", () => this.undo());
    byId("ws-redo").addEventListener("click", () => this.redo());
    byId("ws-finish").addEventListener("click", () => this.finish());
    byId("ws-help-button").addEventListener("click", () => this.toggleHelp());
    window.addEventListener("online", () => this.saver.schedule(0));
    // Logged in again in another tab: try the saves that the expired session refused.
    window.addEventListener("focus", () => {
      if (this.saver.authLost) this.saver.retry();
    });
    window.addEventListener("beforeunload", (event) => {
      if (this.leaving) return;
      if (this.saver.unsaved > 0 || (this.session?.clicks.length ?? 0) > 0) {
        event.preventDefault();
        event.returnValue = "";
      }
    });
    for (const id of ["ws-prev", "ws-next"]) byId(id).addEventListener("click", (e) => this.navigate(e, (e.currentTarget as HTMLAnchorElement).href));
  }

  private navigate(event: Event | null, url: string | null): void {
    event?.preventDefault();
    if (!url || url.endsWith("#")) return;
    location.href = url; // beforeunload warns when something is unsaved
  }

  private toggleHelp(): void {
    const dialog = byId("ws-help");
    if (!dialog.hidden) {
      dialog.hidden = true;
      return;
    }
    renderHelp(this.bindings, (action) => this.startRebind(action), () => (dialog.hidden = true));
    dialog.hidden = false;
  }

  private startRebind(action: Action): void {
    this.rebinding = action;
    const row = document.querySelector(`#ws-help tr[data-action="${action}"] kbd`);
    if (row) row.textContent = "press a key…";
  }

  private finishRebind(key: string): void {
    const action = this.rebinding!;
    this.rebinding = null;
    this.bindings = rebind(this.bindings, action, key);
    void request("PATCH", "/api/me/preferences/", { shortcuts: overridesOf(this.bindings) }).catch(() => this.flash("Could not store the shortcut."));
    renderHelp(this.bindings, (a) => this.startRebind(a), () => (byId("ws-help").hidden = true));
  }

  private bindKeys(): void {
    window.addEventListener("keydown", (event) => {
      const target = event.target as HTMLElement;
      if (target && ["INPUT", "SELECT", "TEXTAREA"].includes(target.tagName) && (target as HTMLInputElement).type !== "range" && (target as HTMLInputElement).type !== "checkbox") return;
      const key = keyName(event);
      if (this.rebinding) {
        if (["shift", "control", "alt", "meta"].includes(event.key.toLowerCase())) return;
        event.preventDefault();
        this.finishRebind(key);
        return;
      }
      if (key === "space") {
        event.preventDefault();
        if (!event.repeat) {
          this.canvas.spaceHeld = true;
          this.canvas.pannedWhileSpace = false;
        }
        return;
      }
      const action = actionFor(this.bindings, key);
      if (action) {
        event.preventDefault();
        this.run(action);
        return;
      }
      const index = labelIndexFor(key);
      if (index !== undefined && this.config.labels[index]) this.pickLabel(this.config.labels[index].id);
    });
    window.addEventListener("keyup", (event) => {
      if (keyName(event) !== "space" || this.rebinding) return;
      this.canvas.spaceHeld = false;
      const panned = this.canvas.pannedWhileSpace;
      this.canvas.pannedWhileSpace = false;
      // Space held with a drag pans; a Space press alone runs whatever Space is bound to.
      const action = actionFor(this.bindings, "space");
      if (!panned && action) this.run(action);
    });
  }

  private run(action: Action): void {
    const actions: Record<Action, () => void> = {
      finish: () => this.finish(),
      undo: () => this.undo(),
      redo: () => this.redo(),
      cancel: () => this.cancel(),
      deleteSelected: () => this.deleteSelected(),
      previousImage: () => this.navigate(null, this.config.prevUrl),
      nextImage: () => this.navigate(null, this.config.nextUrl),
      fit: () => this.canvas.fitToScreen(),
      zoomIn: () => this.canvas.zoom(1.25),
      zoomOut: () => this.canvas.zoom(0.8),
      toggleMask: () => {
        this.maskVisible = !this.maskVisible;
        this.canvas.setMaskVisible(this.maskVisible);
      },
      help: () => this.toggleHelp(),
    };
    actions[action]();
  }
}
