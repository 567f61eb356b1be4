/**
 * The review page of one image: its objects drawn over it (read-only), the comments pinned where they were
 * made, and the reviewer's decision — accept or reject the image, or the whole batch. A click on the image
 * (or on an object) places a new comment there.
 */

import { ApiError, type ReviewComment as Comment, request, type ServerObject } from "./api";
import { Canvas, type DrawnObject } from "./canvas";
import { byId, h } from "./dom";
import type { Click } from "./messages";
import type { Label } from "./panels";
import type { Point } from "./view";

export interface ReviewConfig {
  image: { id: number; width: number; height: number; name: string; url: string; status: string };
  batch: { id: number; name: string; status: string };
  labels: Label[];
  projectUrl: string;
  prevUrl: string | null;
  nextUrl: string | null;
}

type Decision = "accept" | "reject";

export class ReviewPage {
  private readonly canvas: Canvas;
  private objects: ServerObject[] = [];
  private comments: Comment[] = [];
  private pin: (Point & { object: number | null }) | null = null;
  private status: string;

  constructor(
    private readonly root: HTMLElement,
    private readonly config: ReviewConfig,
  ) {
    this.status = config.image.status;
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
    if (!(await this.canvas.loadImage(this.config.image.url))) {
      this.message("The image could not be loaded; reload the page to try again.", true);
    }
    const base = `/api/images/${this.config.image.id}`;
    [this.objects, this.comments] = await Promise.all([
      request<ServerObject[]>("GET", `${base}/objects/`),
      request<Comment[]>("GET", `${base}/comments/`),
    ]);
    this.canvas.fitToScreen();
    this.render();
    this.bindKeys();
    document.body.dataset.ready = "1";
  }

  toScreen(x: number, y: number): Point {
    return this.canvas.clientPointOf(x, y);
  }

  state() {
    return { status: this.status, objects: this.objects.length, comments: this.comments.length, pin: this.pin };
  }

  // ------------------------------------------------------------------ layout
  private buildLayout(): void {
    const { config } = this;
    const link = (id: string, url: string | null, text: string) =>
      h("a", { id, href: url ?? "#", class: url ? "" : "disabled" }, text);
    this.root.append(
      h(
        "div",
        { class: "ws-toolbar" },
        h("a", { href: config.projectUrl }, "← Project"),
        h("strong", {}, `Review · ${config.image.name}`),
        link("rv-prev", config.prevUrl, "◀ Prev"),
        link("rv-next", config.nextUrl, "Next ▶"),
        h("span", {}, "Status: ", h("strong", { id: "rv-status" }, "")),
        h("button", { id: "rv-accept", type: "button", class: "primary", title: "Accept (A)" }, "Accept"),
        h("button", { id: "rv-reject", type: "button", title: "Reject (R)" }, "Reject"),
        h("span", { class: "rv-batch" }, `Batch “${config.batch.name}”: `, h("strong", { id: "rv-batch-status" }, ""),
          h("button", { id: "rv-accept-batch", type: "button" }, "Accept all"),
          h("button", { id: "rv-reject-batch", type: "button" }, "Reject all")),
      ),
      h(
        "div",
        { class: "ws-body" },
        h("div", { id: "rv-stage", class: "rv-stage" }),
        h(
          "aside",
          { class: "ws-side" },
          h("h3", {}, "Objects"),
          h("ul", { id: "rv-objects", class: "rv-list rv-objects" }),
          h("h3", {}, "Comments"),
          h("ol", { id: "rv-comments", class: "rv-list" }),
          h("p", { class: "ws-hint" }, "Click the image or an object to pin a comment there."),
          h("textarea", { id: "rv-text", rows: 3, placeholder: "Comment", "aria-label": "Comment" }),
          h("button", { id: "rv-send", type: "button" }, "Add comment"),
          h("p", { id: "rv-message", class: "ws-hint", role: "status" }, ""),
        ),
      ),
    );
    byId("rv-accept").addEventListener("click", () => void this.decide("image", "accept"));
    byId("rv-reject").addEventListener("click", () => void this.decide("image", "reject"));
    byId("rv-accept-batch").addEventListener("click", () => void this.decide("batch", "accept"));
    byId("rv-reject-batch").addEventListener("click", () => void this.decide("batch", "reject"));
    byId("rv-send").addEventListener("click", () => void this.sendComment());
  }

  private bindKeys(): void {
    window.addEventListener("keydown", (e) => {
      if (e.target instanceof HTMLTextAreaElement || e.ctrlKey || e.metaKey || e.altKey) return;
      const key = e.key.toLowerCase();
      if (key === "a") void this.decide("image", "accept");
      else if (key === "r") void this.decide("image", "reject");
      else if (key === "s" && this.config.prevUrl) location.href = this.config.prevUrl;
      else if (key === "f" && this.config.nextUrl) location.href = this.config.nextUrl;
    });
  }

  private label(id: number): Label {
    return this.config.labels.find((l) => l.id === id) ?? { id, name: `label ${id}`, color: "#888888" };
  }

  private render(): void {
    const drawn: DrawnObject[] = this.objects.map((o) => ({
      id: String(o.id),
      polygons: o.polygons,
      color: this.label(o.label).color,
      selected: false,
      visible: true,
    }));
    this.canvas.drawObjects(drawn, 0.5);
    const pins: Click[] = this.comments.filter((c) => c.x !== null && c.y !== null).map((c) => ({ x: c.x!, y: c.y!, positive: false }));
    if (this.pin) pins.push({ x: this.pin.x, y: this.pin.y, positive: true });
    this.canvas.drawMarkers(pins);
    byId("rv-status").textContent = this.status;
    byId("rv-status").dataset.status = this.status;
    const decidable = this.status === "submitted";
    for (const id of ["rv-accept", "rv-reject"]) (byId(id) as HTMLButtonElement).disabled = !decidable;
    byId("rv-batch-status").textContent = this.config.batch.status;
    const batchOpen = this.config.batch.status === "submitted";
    for (const id of ["rv-accept-batch", "rv-reject-batch"]) (byId(id) as HTMLButtonElement).disabled = !batchOpen;
    byId("rv-objects").replaceChildren(
      ...this.objects.map((o, i) =>
        h("li", { "data-object": o.id }, h("span", { class: "chip", style: `background:${this.label(o.label).color}` }, String(i + 1)),
          ` ${this.label(o.label).name} · ${o.area} px · ${o.clicks_used} clicks`),
      ),
    );
    if (!this.objects.length) byId("rv-objects").append(h("li", {}, "No objects."));
    byId("rv-comments").replaceChildren(
      ...this.comments.map((c) =>
        h("li", { "data-comment": c.id }, h("strong", {}, c.author_name ?? "—"), c.object ? ` (object ${c.object})` : "", `: ${c.text}`),
      ),
    );
  }

  private message(text: string, error = false): void {
    const box = byId("rv-message");
    box.textContent = text;
    box.classList.toggle("error", error);
  }

  private placePin(pixel: Point, object: number | null): void {
    this.pin = { ...pixel, object };
    this.render();
    byId<HTMLTextAreaElement>("rv-text").focus();
  }

  private highlight(index: number): void {
    const pinned = this.comments.filter((c) => c.x !== null);
    const comment = pinned[index];
    if (!comment) return;
    document.querySelectorAll("#rv-comments li").forEach((li) => li.classList.toggle("current", li.getAttribute("data-comment") === String(comment.id)));
  }

  private async sendComment(): Promise<void> {
    const text = byId<HTMLTextAreaElement>("rv-text").value.trim();
    if (!text) return this.message("Write the comment first.", true);
    const body = { text, x: this.pin?.x ?? null, y: this.pin?.y ?? null, object: this.pin?.object ?? null };
    try {
      const comment = await request<Comment>("POST", `/api/images/${this.config.image.id}/comments/`, body);
      this.comments.push(comment);
      this.pin = null;
      byId<HTMLTextAreaElement>("rv-text").value = "";
      this.message("Comment added.");
      this.render();
    } catch (exc) {
      this.message(exc instanceof ApiError ? exc.detail : "The server could not be reached; try again.", true);
    }
  }

  private async decide(what: "image" | "batch", decision: Decision): Promise<void> {
    if (what === "image" && this.status !== "submitted") return this.message(`This image is already ${this.status}.`, true);
    const url = what === "image" ? `/api/images/${this.config.image.id}/review` : `/api/batches/${this.config.batch.id}/review`;
    try {
      await request("POST", url, { decision });
    } catch (exc) {
      return this.message(exc instanceof ApiError ? exc.detail : "The server could not be reached; try again.", true);
    }
    this.status = decision === "accept" ? "accepted" : "rejected";
    if (what === "batch") {
      this.config.batch.status = this.status;
      this.message(`Batch ${this.status}: every image in it is ${this.status}.`);
    } else {
      // Deciding the last image decides the batch (rejected: back with its annotator).
      const batch = await request<{ status: string }>("GET", `/api/batches/${this.config.batch.id}/`).catch(() => null);
      const decided = batch && batch.status !== this.config.batch.status;
      if (batch) this.config.batch.status = batch.status;
      this.message(`Image ${this.status}.${decided ? ` Every image is decided: the batch is ${batch.status}.` : ""}`);
    }
    this.render();
  }
}
