/**
 * "Submit batch" in the workspace, for the batch's annotator while the batch is open or rejected: the image is
 * settled first (the object under way finished, everything saved), then an in-page confirmation says how many of
 * the batch's images have no object yet (`GET /api/batches/{id}/` `empty_images`), and confirming submits it
 * (`POST /api/batches/{id}/submit`). The workspace then goes back to the project page.
 */

import { ApiError, request } from "./api";
import { byId, h } from "./dom";

export interface BatchInfo {
  id: number;
  name: string;
  status: string;
}

interface BatchDetail {
  name: string;
  status: string;
  image_count?: number;
  empty_images?: number;
}

export interface SubmitHost {
  settle(): Promise<string | null>; // null when the image is saved and nothing is under way
  submitted(): void;
}

export const submittable = (batch: BatchInfo | null | undefined): batch is BatchInfo =>
  !!batch && (batch.status === "open" || batch.status === "rejected");

/** What the confirmation says about images without objects (nothing when the server does not tell). */
export function emptyWarning(detail: Pick<BatchDetail, "image_count" | "empty_images">): string {
  const empty = detail.empty_images;
  if (typeof empty !== "number") return "";
  if (empty === 0) return "Every image of the batch has at least one object.";
  const verb = empty === 1 ? "has" : "have";
  if (typeof detail.image_count === "number") return `⚠ ${empty} of its ${detail.image_count} images ${verb} no object yet.`;
  return `⚠ ${empty} image${empty === 1 ? "" : "s"} ${verb} no object yet.`;
}

export class SubmitDialog {
  private busy = false;

  constructor(
    private readonly batch: BatchInfo,
    private readonly host: SubmitHost,
  ) {}

  async open(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    const dialog = byId("ws-submit-dialog");
    dialog.replaceChildren(h("p", {}, "Saving this image first…"));
    dialog.hidden = false;
    try {
      const why = await this.host.settle();
      if (why) return this.show(h("p", { class: "ws-error" }, why), false);
      const detail = await request<BatchDetail>("GET", `/api/batches/${this.batch.id}/`);
      const warning = emptyWarning(detail);
      this.show(
        h("div", {}, warning ? h("p", { id: "ws-submit-warning", class: detail.empty_images ? "ws-warning" : "" }, warning) : ""),
        true,
      );
    } catch (exc) {
      this.show(h("p", { class: "ws-error" }, `The batch could not be read: ${exc instanceof ApiError ? exc.detail : String(exc)}`), false);
    } finally {
      this.busy = false;
    }
  }

  private show(body: HTMLElement, canSubmit: boolean): void {
    const dialog = byId("ws-submit-dialog");
    const close = () => (dialog.hidden = true);
    dialog.hidden = false;
    dialog.replaceChildren(
      h("h2", {}, `Submit “${this.batch.name}” for review?`),
      body,
      h("p", {}, "The reviewer is told; you cannot edit its images until the batch comes back to you."),
      h("p", { id: "ws-submit-message", class: "ws-error", role: "alert" }),
      canSubmit ? h("button", { type: "button", class: "primary", id: "ws-submit-confirm", onclick: () => void this.confirm() }, "Submit batch") : "",
      " ",
      h("button", { type: "button", id: "ws-submit-cancel", onclick: close }, canSubmit ? "Cancel" : "Close"),
    );
  }

  private async confirm(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    const button = byId<HTMLButtonElement>("ws-submit-confirm");
    button.disabled = true;
    try {
      const why = await this.host.settle(); // anything changed since the dialog opened is saved first
      if (why) throw new Error(why);
      await request("POST", `/api/batches/${this.batch.id}/submit`);
      this.host.submitted();
    } catch (exc) {
      byId("ws-submit-message").textContent = exc instanceof ApiError ? exc.detail : exc instanceof Error ? exc.message : String(exc);
      button.disabled = false;
    } finally {
      this.busy = false;
    }
  }
}
