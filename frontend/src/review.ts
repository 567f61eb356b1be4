/**
 * The review page of one image: its objects drawn over it (read-only), the comments pinned where they were
 * made, and the reviewer's decisions while the batch is under review — accept or reject this image (and change
 * that decision), accept or reject the images still undecided, and finish the review once every image is decided.
 * A click on the image (or on an object) places a new comment there. In `read-only` mode (the read-only view of
 * an image) the objects and comments are shown without any decision or comment control. The image's socket is
 * opened read-only (`ready.can_edit` false for reviewers; only heartbeats are sent on it, to stay among the
 * image's viewers) to show live who else is on the image, who is editing which object, saved object changes,
 * status changes and new comments; every (re)connection catches up from the REST API. A stack is seen slice by
 * slice (slider, `,` / `.`: that slice's objects), a source through its display mapping as the annotator set it.
 */

import { ApiError, type ReviewComment, request, type ServerObject } from "./api";
import { Canvas, type DrawnObject } from "./canvas";
import type { CollabMessage, CollabReady } from "./collabMessages";
import { type DisplayMapping, describeDisplay, sliceUrl } from "./displayMapping";
import { byId, h } from "./dom";
import { LeaseBook } from "./leases";
import type { Click } from "./messages";
import type { Label } from "./panels";
import { renderViewers } from "./presence";
import type { PageImage } from "./config";
import { applyToList } from "./remoteChanges";
import {
  type BatchSummary,
  type Decision,
  modeOf,
  type ReviewControls,
  type ReviewMode,
  reviewControls,
} from "./reviewDecisions";
import { SlicePanel } from "./slicePanel";
import { clampSlice, onSlice } from "./slices";
import { AnnotateSocket, socketUrl } from "./socket";
import type { Point } from "./view";

export interface ReviewConfig {
  mode?: ReviewMode;
  image: PageImage;
  batch: { id: number; name: string; status: string } | null;
  labels: Label[];
  projectUrl: string;
  prevUrl: string | null;
  nextUrl: string | null;
}

/** The object and comment fields the review page reads beyond the workspace's types. */
type ReviewObject = ServerObject & { number: number; author_name?: string | null };
type Comment = ReviewComment & { object_number: number | null };
type BatchDecision = Decision | "finish";

const REJECT_PROMPT = "Why is the image rejected? (optional; click the image or an object to pin the comment there)";

export class ReviewPage {
  private readonly canvas: Canvas;
  private readonly mode: ReviewMode;
  private objects: ReviewObject[] = [];
  private comments: Comment[] = [];
  private pin: (Point & { object: number | null }) | null = null;
  private status: string;
  private batch: BatchSummary | null;
  private busy = false;
  private socket: AnnotateSocket | null = null;
  private heartbeat: ReturnType<typeof setInterval> | null = null;
  private readonly leases = new LeaseBook();
  private readonly known = new Map<number, number>(); // object id → highest version seen
  private slice = 0;
  private statusChanges = 0; // how often the status was set by a decision or a live change
  private imageUrl: string;
  private slicePanel: SlicePanel | null = null;

  constructor(
    private readonly root: HTMLElement,
    private readonly config: ReviewConfig,
  ) {
    this.mode = modeOf(config.mode);
    this.status = config.image.status ?? "";
    this.batch = config.batch ? { ...config.batch } : null;
    this.imageUrl = config.image.url;
    this.buildLayout();
    this.canvas = new Canvas(byId<HTMLDivElement>("rv-stage"), config.image.width, config.image.height, {
      imageClick: (pixel) => this.placePin(pixel, null),
      objectClick: (id, _force, pixel) => this.placePin(pixel, Number(id)),
      markerClick: (index) => this.highlight(index),
      vertexMoved: () => undefined,
      vertexSelected: () => undefined,
      edgeDoubleClick: () => undefined,
      objectDragged: () => undefined,
      viewChanged: () => undefined,
    });
    (window as any).edgeflow = this; // for tests and the console
  }

  async start(): Promise<void> {
    const { tiles, url } = this.config.image;
    if (!(await (tiles ? this.canvas.loadTiles(tiles) : this.canvas.loadImage(url)))) {
      this.message("The image could not be loaded; reload the page to try again.", true);
    }
    const base = `/api/images/${this.config.image.id}`;
    [this.objects, this.comments] = await Promise.all([
      request<ReviewObject[]>("GET", `${base}/objects/`),
      request<Comment[]>("GET", `${base}/comments/`),
      this.controls().decisions ? this.refreshBatch() : Promise.resolve(),
    ]);
    this.canvas.fitToScreen();
    if (this.config.image.source) this.showDisplay(this.config.image.source.display);
    this.render();
    this.bindKeys();
    this.goLive();
    document.body.dataset.ready = "1";
  }

  // ------------------------------------------------------------------ live
  /** The image's socket, read-only: presence, leases and changes as they happen; caught up on every connection. */
  private goLive(): void {
    if (typeof WebSocket === "undefined") return;
    this.socket = new AnnotateSocket(socketUrl(this.config.image.id), {
      opened: (ready) => void this.connected(ready.team),
      message: (msg) => this.live(msg as CollabMessage),
      closed: () => this.stopHeartbeat(), // reconnects by itself (a refusal, 4401/4404, stops it: the page stays as loaded)
    });
    this.socket.connect();
  }

  private async connected(team: CollabReady): Promise<void> {
    this.leases.replace(team.leases);
    renderViewers(byId("rv-viewers"), team.viewers);
    this.stopHeartbeat();
    if (team.collab) this.heartbeat = setInterval(() => this.socket?.send({ type: "heartbeat" }), team.heartbeat_s * 1000);
    const base = `/api/images/${this.config.image.id}`;
    const statusSeen = this.statusChanges;
    try {
      const [objects, comments, image] = await Promise.all([
        request<ReviewObject[]>("GET", `${base}/objects/`),
        request<Comment[]>("GET", `${base}/comments/`),
        request<{ status: string }>("GET", `${base}/`),
      ]);
      for (const o of objects) this.objects = applyToList(this.objects, "updated", o, this.known);
      const ids = new Set(objects.map((o) => o.id));
      this.objects = this.objects.filter((o) => ids.has(o.id));
      this.comments = comments;
      // A decision (or a live change) made while these were on their way is newer than what they say.
      if (this.statusChanges === statusSeen) this.status = image.status ?? this.status;
    } catch {
      // unreachable now: what is shown stays; the next connection catches up
    }
    this.render();
  }

  private stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }

  private live(msg: CollabMessage): void {
    if (msg.type === "viewers") renderViewers(byId("rv-viewers"), msg.viewers);
    else if (msg.type === "leases") this.leases.replace(msg.leases);
    else if (msg.type === "object_changed") this.objects = applyToList(this.objects, msg.action, msg.object as ReviewObject, this.known);
    else if (msg.type === "image_changed" && msg.image.id === this.config.image.id) {
      this.setStatus(msg.image.status);
      if (this.controls().decisions) void this.refreshBatch().then(() => this.render());
    } else if (msg.type === "display_changed" && msg.image === this.config.image.id) {
      return void this.displayChanged();
    } else if (msg.type === "comment_added" && !this.comments.some((c) => c.id === msg.comment.id)) {
      this.comments = [...this.comments, { object_number: null, ...msg.comment } as Comment];
    } else return;
    this.render();
  }

  /** The annotator showed the image differently: its new rendering (same slice, same view). */
  private async displayChanged(): Promise<void> {
    try {
      const image = await request<{ file_url: string; display: DisplayMapping }>("GET", `/api/images/${this.config.image.id}/`);
      this.imageUrl = image.file_url;
      this.showDisplay(image.display);
      await this.canvas.replaceImage(sliceUrl(this.imageUrl, this.slice));
    } catch {
      // unreachable now: the old rendering stays
    }
  }

  private showDisplay(display: DisplayMapping): void {
    const source = this.config.image.source;
    if (source) byId("rv-display").textContent = `Shown: ${describeDisplay(display, source.presets, source.bands)}`;
  }

  /** Slice `index` of a stack: its rendering and its objects. */
  private goToSlice(index: number): void {
    const count = this.config.image.source?.slices ?? 1;
    const target = clampSlice(index, count);
    if (count <= 1 || target === this.slice) return this.render(); // the slider back on the slice shown
    this.slice = target;
    this.render();
    void this.canvas.replaceImage(sliceUrl(this.imageUrl, target));
  }

  toScreen(x: number, y: number): Point {
    return this.canvas.clientPointOf(x, y);
  }

  state() {
    const { mode, status, batch, pin } = this;
    const live = { connected: this.socket?.open ?? false, connections: this.socket?.opens ?? 0, leases: this.leases.all };
    const slice = this.slice;
    return { mode, status, batch, pin, objects: this.objects.length, comments: this.comments.length, busy: this.busy, live, slice, imageUrl: this.canvas.imageUrl };
  }

  private controls(): ReviewControls {
    return reviewControls(this.mode, this.status, this.batch);
  }

  // ------------------------------------------------------------------ layout
  private buildLayout(): void {
    const { config } = this;
    const controls = this.controls();
    const link = (id: string, url: string | null, text: string) =>
      h("a", { id, href: url ?? "#", class: url ? "" : "disabled" }, text);
    const button = (id: string, text: string, title: string, onclick: () => void, primary = false) =>
      h("button", { id, type: "button", title, class: primary ? "primary" : "", onclick: () => onclick() }, text);
    const toolbar = h(
      "div",
      { class: "ws-toolbar" },
      h("a", { href: config.projectUrl }, "← Project"),
      h("strong", {}, `${this.mode === "review" ? "Review" : "View (read-only)"} · ${config.image.name}`),
      link("rv-prev", config.prevUrl, "◀ Prev"),
      link("rv-next", config.nextUrl, "Next ▶"),
      h("span", {}, "Status: ", h("strong", { id: "rv-status" }, "")),
      h("span", { id: "rv-viewers", class: "rv-viewers ws-viewers", "aria-label": "Also on this image" }),
    );
    if (controls.decisions) {
      toolbar.append(
        h(
          "span",
          { class: "rv-decision", role: "group", "aria-label": "Decision on this image" },
          button("rv-accept", "Accept", "Accept this image (A)", () => void this.decideImage("accept")),
          button("rv-reject", "Reject", "Reject this image (R)", () => void this.decideImage("reject")),
        ),
      );
    }
    if (this.batch) {
      const batch = h("span", { class: "rv-batch" }, `Batch “${this.batch.name}”: `, h("strong", { id: "rv-batch-status" }, ""));
      if (controls.decisions) {
        batch.append(
          h("span", { id: "rv-counts", class: "rv-counts" }, ""),
          button("rv-accept-rest", "Accept the rest", "Accept the images still undecided", () => void this.decideBatch("accept")),
          button("rv-reject-rest", "Reject the rest", "Reject the images still undecided", () => void this.decideBatch("reject")),
          button("rv-finish", "Finish review", "Close the review of the batch", () => void this.decideBatch("finish"), true),
          h("span", { id: "rv-outcome", class: "rv-outcome" }, ""),
        );
      }
      toolbar.append(batch);
    }
    const side = h(
      "aside",
      { class: "ws-side" },
      h("h3", {}, "Objects"),
      h("ul", { id: "rv-objects", class: "rv-list rv-objects" }),
      h("h3", {}, "Comments"),
      h("ol", { id: "rv-comments", class: "rv-list" }),
    );
    if (controls.comments) {
      side.append(
        h(
          "div",
          { id: "rv-comment-box", class: "rv-comment-box" },
          h("p", { class: "ws-hint" }, "Click the image or an object to pin a comment there."),
          h("textarea", { id: "rv-text", rows: 3, placeholder: "Comment", "aria-label": "Comment" }),
          button("rv-send", "Add comment", "Add the comment", () => void this.sendComment()),
        ),
      );
    }
    side.append(h("p", { id: "rv-message", class: "ws-hint", role: "status" }, ""));
    const source = config.image.source;
    if (source) {
      const top = h("div", { class: "ws-source" });
      side.prepend(top);
      if (source.slices > 1) this.slicePanel = new SlicePanel(top, source.slices, (index) => this.goToSlice(index), { previous: ",", next: "." });
      top.append(h("p", { id: "rv-display", class: "ws-hint" }));
    }
    this.root.append(toolbar, h("div", { class: "ws-body" }, h("div", { id: "rv-stage", class: "rv-stage" }), side));
  }

  private bindKeys(): void {
    window.addEventListener("keydown", (e) => {
      if (e.target instanceof HTMLTextAreaElement || e.ctrlKey || e.metaKey || e.altKey) return;
      const key = e.key.toLowerCase();
      if (key === "a" && this.controls().decisions) void this.decideImage("accept");
      else if (key === "r" && this.controls().decisions) void this.decideImage("reject");
      else if (key === "s" && this.config.prevUrl) location.href = this.config.prevUrl;
      else if (key === "f" && this.config.nextUrl) location.href = this.config.nextUrl;
      else if (key === "," || key === ".") this.goToSlice(this.slice + (key === "," ? -1 : 1));
    });
  }

  private label(id: number): Label {
    return this.config.labels.find((l) => l.id === id) ?? { id, name: `label ${id}`, color: "#888888" };
  }

  // ------------------------------------------------------------------ rendering
  private render(): void {
    const objects = onSlice(this.objects, this.slice); // a stack: this slice's objects
    this.slicePanel?.show(this.slice, this.objects.length - objects.length);
    const drawn: DrawnObject[] = objects.map((o) => ({
      id: String(o.id),
      polygons: o.polygons,
      color: this.label(o.label).color,
      selected: false,
      visible: true,
      lockedBy: this.leases.holder(o.id),
    }));
    this.canvas.drawObjects(drawn, 0.5);
    const pinned = onSlice(this.comments, this.slice).filter((c) => c.x !== null && c.y !== null);
    const pins: Click[] = pinned.map((c) => ({ x: c.x!, y: c.y!, positive: false }));
    if (this.pin) pins.push({ x: this.pin.x, y: this.pin.y, positive: true });
    this.canvas.drawMarkers(pins);
    byId("rv-status").textContent = this.status;
    byId("rv-status").dataset.status = this.status;
    this.renderDecisions();
    this.renderLists();
  }

  private renderDecisions(): void {
    const controls = this.controls();
    if (this.batch) byId("rv-batch-status").textContent = this.batch.status;
    if (!controls.decisions || !this.batch) return;
    const enable = (id: string, on: boolean) => ((byId(id) as HTMLButtonElement).disabled = !on || this.busy);
    for (const [id, decision] of [["rv-accept", "accept"], ["rv-reject", "reject"]] as const) {
      enable(id, controls.canDecide);
      const pressed = controls.current === decision;
      byId(id).setAttribute("aria-pressed", String(pressed));
      byId(id).classList.toggle("current", pressed);
      byId(id).textContent = pressed ? `${decision === "accept" ? "Accepted" : "Rejected"} ✓` : decision === "accept" ? "Accept" : "Reject";
    }
    enable("rv-accept-rest", controls.canDecideRest);
    enable("rv-reject-rest", controls.canDecideRest);
    enable("rv-finish", controls.canFinish);
    const { accepted_images: accepted = 0, rejected_images: rejected = 0, undecided_images: undecided = 0 } = this.batch;
    byId("rv-counts").textContent = `${accepted} accepted · ${rejected} rejected · ${undecided} undecided`;
    byId("rv-outcome").textContent = controls.outcome;
  }

  private renderLists(): void {
    const objects = onSlice(this.objects, this.slice);
    byId("rv-objects").replaceChildren(
      ...objects.map((o) =>
        h(
          "li",
          { "data-object": o.id, "data-number": o.number, "data-leased-by": this.leases.holder(o.id)?.name },
          h("span", { class: "chip", style: `background:${this.label(o.label).color}` }, `#${o.number}`),
          ` ${this.label(o.label).name} · ${o.area} px · ${o.clicks_used} click${o.clicks_used === 1 ? "" : "s"}${o.author_name ? ` · ${o.author_name}` : ""}`,
        ),
      ),
    );
    if (!objects.length) byId("rv-objects").append(h("li", {}, "No objects."));
    const stack = (this.config.image.source?.slices ?? 1) > 1;
    byId("rv-comments").replaceChildren(
      ...this.comments.map((c) =>
        h(
          "li",
          { "data-comment": c.id, "data-slice": c.slice ?? 0 },
          h("strong", {}, c.author_name ?? "—"),
          c.object_number !== null ? ` (object #${c.object_number})` : "",
          stack ? ` (slice ${(c.slice ?? 0) + 1})` : "",
          `: ${c.text}`,
        ),
      ),
    );
  }

  private message(text: string, error = false): void {
    const box = byId("rv-message");
    box.textContent = text;
    box.classList.toggle("error", error);
  }

  private failure(exc: unknown): void {
    this.message(exc instanceof ApiError ? exc.detail : "The server could not be reached; try again.", true);
  }

  // ------------------------------------------------------------------ comments
  private placePin(pixel: Point, object: number | null): void {
    if (!this.controls().comments) return;
    this.pin = { ...pixel, object };
    this.render();
    byId<HTMLTextAreaElement>("rv-text").focus();
  }

  private highlight(index: number): void {
    const pinned = onSlice(this.comments, this.slice).filter((c) => c.x !== null && c.y !== null); // as drawn
    const comment = pinned[index];
    if (!comment) return;
    document.querySelectorAll("#rv-comments li").forEach((li) => li.classList.toggle("current", li.getAttribute("data-comment") === String(comment.id)));
  }

  /** After a rejection: the comment box asks why, focused (a comment stays optional). */
  private promptForComment(): void {
    const text = byId<HTMLTextAreaElement>("rv-text");
    byId("rv-comment-box").classList.add("prompt");
    text.placeholder = REJECT_PROMPT;
    text.focus();
  }

  private async sendComment(): Promise<void> {
    const text = byId<HTMLTextAreaElement>("rv-text").value.trim();
    if (!text) return this.message("Write the comment first.", true);
    const body = { text, x: this.pin?.x ?? null, y: this.pin?.y ?? null, object: this.pin?.object ?? null, slice: this.slice };
    try {
      const comment = await request<Comment>("POST", `/api/images/${this.config.image.id}/comments/`, body);
      // The socket's comment_added may have arrived first: keep one entry per comment.
      this.comments = [...this.comments.filter((c) => c.id !== comment.id), comment];
      this.pin = null;
      byId<HTMLTextAreaElement>("rv-text").value = "";
      byId<HTMLTextAreaElement>("rv-text").placeholder = "Comment";
      byId("rv-comment-box").classList.remove("prompt");
      this.message("Comment added.");
      this.render();
    } catch (exc) {
      this.failure(exc);
    }
  }

  // ------------------------------------------------------------------ decisions
  private async refreshBatch(): Promise<void> {
    if (!this.batch) return;
    this.batch = await request<BatchSummary>("GET", `/api/batches/${this.batch.id}/`);
  }

  /** One decision at a time: the buttons are disabled while a decision is on its way. */
  private async exclusively(work: () => Promise<void>): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    this.render();
    try {
      await work();
    } catch (exc) {
      this.failure(exc);
    } finally {
      this.busy = false;
      this.render();
    }
  }

  /** The image's status as decided here or told live; a catch-up read begun before it does not undo it. */
  private setStatus(status: string): void {
    this.status = status;
    this.statusChanges += 1;
  }

  private async decideImage(decision: Decision): Promise<void> {
    if (!this.controls().canDecide) {
      return this.message(`The batch is ${this.batch?.status ?? "not under review"}: decisions are made while it is under review.`, true);
    }
    let decided = "";
    await this.exclusively(async () => {
      const image = await request<{ status: string }>("POST", `/api/images/${this.config.image.id}/review`, { decision });
      this.setStatus(image.status);
      decided = image.status;
      await this.refreshBatch();
      this.message(decision === "accept" ? "Image accepted." : "Image rejected. Say why in a comment (optional).");
    });
    if (decision === "reject" && decided === "rejected") this.promptForComment();
  }

  private async decideBatch(decision: BatchDecision): Promise<void> {
    if (!this.batch) return;
    const batchId = this.batch.id;
    const undecided = this.batch.undecided_images ?? 0;
    await this.exclusively(async () => {
      this.batch = await request<BatchSummary>("POST", `/api/batches/${batchId}/review`, { decision });
      this.setStatus((await request<{ status: string }>("GET", `/api/images/${this.config.image.id}/`)).status);
      this.message(this.batchMessage(decision, undecided));
    });
  }

  private batchMessage(decision: BatchDecision, undecided: number): string {
    const images = `${undecided} image${undecided === 1 ? "" : "s"}`;
    if (decision === "accept") return `Accepted the ${images} still undecided.`;
    if (decision === "reject") return `Rejected the ${images} still undecided.`;
    return this.batch?.status === "accepted"
      ? "Review finished: the batch is accepted."
      : "Review finished: the batch is back with its annotator for the rejected images.";
  }
}
