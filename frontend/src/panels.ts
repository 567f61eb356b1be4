/** The workspace's HTML around the canvas: toolbar, label picker, object list, status bar, help and conflict dialogs. */

import type { ServerObject } from "./api";
import { byId, h } from "./dom";
import type { LocalObject } from "./objects";
import type { LockTrouble } from "./saver";
import { sameShape, shapeArea, vertexCount } from "./polygon";
import { type Action, ACTION_NAMES, type Bindings } from "./shortcuts";

export interface Label {
  id: number;
  name: string;
  color: string;
}

export interface LayoutOptions {
  title: string;
  backUrl: string;
  prevUrl: string | null;
  nextUrl: string | null;
  submittable: boolean; // the batch is open or rejected: "Submit batch" is offered
}

export function buildLayout(root: HTMLElement, o: LayoutOptions): void {
  const slider = (id: string, name: string, min: number, max: number, value?: number, title?: string) =>
    h("label", { class: "ws-slider", title }, name, h("input", { id, type: "range", min, max, value, "aria-label": name, disabled: value === undefined }));
  const shown = (id: string) => h("output", { id, class: "ws-value", for: id.replace(/-value$/, "") }, "–");
  root.append(
    h(
      "div",
      { class: "ws-toolbar" },
      h("a", { href: o.backUrl, id: "ws-back" }, "← Project"),
      h("strong", { id: "ws-title" }, o.title),
      h("span", { id: "ws-viewers", class: "ws-viewers", "aria-label": "Also on this image" }),
      h("a", { id: "ws-prev", href: o.prevUrl ?? "#", class: o.prevUrl ? "" : "disabled", title: "Previous image (S)" }, "◀ Prev"),
      h("a", { id: "ws-next", href: o.nextUrl ?? "#", class: o.nextUrl ? "" : "disabled", title: "Next image (F)" }, "Next ▶"),
      h("button", { id: "ws-fit", type: "button" }, "Fit"),
      slider("ws-brightness", "Brightness", 20, 300, 100),
      slider("ws-contrast", "Contrast", 20, 300, 100),
      slider("ws-opacity", "Opacity", 0, 100, 50),
      // The mask options apply to the object being segmented; all set from the server's defaults once it is ready.
      h(
        "span",
        { class: "ws-mask-options", id: "ws-mask-options", title: "Applies to the object being segmented (finished objects keep their shape)" },
        h("span", { class: "ws-caption" }, "Object being segmented:"),
        slider("ws-threshold", "Threshold", 1, 99),
        shown("ws-threshold-value"),
        slider("ws-tolerance", "Simplify", 0, 100, undefined, "Polygon simplification: how far (px) the outline may stray from the mask"),
        shown("ws-tolerance-value"),
        h("label", {}, h("input", { id: "ws-largest", type: "checkbox", disabled: true }), " Largest component"),
      ),
      h("button", { id: "ws-undo", type: "button", title: "Undo" }, "↶ Undo"),
      h("button", { id: "ws-redo", type: "button", title: "Redo" }, "↷ Redo"),
      h("button", { id: "ws-add-clicks", type: "button", title: "Add clicks to the selected object (E)" }, "+ Clicks"),
      h("button", { id: "ws-finish", type: "button", class: "primary" }, "Finish"),
      o.submittable ? h("button", { id: "ws-submit", type: "button", title: "Submit the batch for review" }, "Submit batch…") : "",
      h("button", { id: "ws-help-button", type: "button", title: "Shortcuts" }, "?"),
    ),
    h(
      "div",
      { class: "ws-body" },
      h("div", { id: "ws-stage" }),
      h(
        "aside",
        { class: "ws-side" },
        h("p", { id: "ws-read-only", class: "ws-read-only", role: "status", hidden: true }, "Read-only: you may not edit this image now (its batch was submitted, or the image accepted). Changes by others still appear here live."),
        h("div", { id: "ws-source", class: "ws-source" }), // a stack's slices and a source's display (sources only)
        h("p", { id: "ws-rejected", class: "ws-rejected", role: "status", hidden: true }, "The reviewer rejected this image: see the comments below (pinned on the image), fix it and submit the batch again."),
        h("h3", {}, "Labels"),
        h("div", { id: "ws-labels" }),
        h("h3", {}, "Objects"),
        h("p", { id: "ws-lock-message", class: "ws-lock-message", role: "status", hidden: true }),
        h("ul", { id: "ws-objects" }),
        h("h3", { id: "ws-comments-title", hidden: true }, "Review comments"),
        h("ol", { id: "ws-comments", class: "ws-comments" }),
        h("p", { class: "ws-hint" }, "Left click: add · Right click: remove · Space: finish · click a marker to delete it · E: add clicks to the selected object"),
      ),
    ),
    h(
      "div",
      { class: "ws-status" },
      h("span", { id: "ws-connection", "data-state": "connecting" }, "Connecting…"),
      h("span", { id: "ws-pending", "data-state": "idle", role: "status" }),
      h("span", { id: "ws-model", "data-state": "ready", role: "status" }, ""), // "model warming up" until a worker is warm
      h("span", { id: "ws-shown", role: "status" }, ""), // what is shown: the slice and the display mapping of a source
      h("span", { id: "ws-latency" }, ""),
      h("span", { id: "ws-save", "data-state": "saved" }, "All changes saved"),
    ),
    h("div", { id: "ws-help", class: "ws-dialog", hidden: true }),
    h("div", { id: "ws-conflict", class: "ws-dialog", hidden: true, role: "dialog", "aria-label": "Save conflict" }),
    h("div", { id: "ws-submit-dialog", class: "ws-dialog", hidden: true, role: "dialog", "aria-label": "Submit the batch" }),
  );
}

export function renderLabels(labels: Label[], current: number, pick: (id: number) => void): void {
  byId("ws-labels").replaceChildren(
    ...labels.map((label, i) =>
      h(
        "button",
        { type: "button", class: `ws-label${label.id === current ? " current" : ""}`, "data-label": label.id, onclick: () => pick(label.id) },
        h("span", { class: "chip", style: `background:${label.color}` }, String(i + 1)),
        " ",
        label.name,
      ),
    ),
  );
}

export function renderHelp(bindings: Bindings, rebind: (action: Action) => void, close: () => void): void {
  const dialog = byId("ws-help");
  dialog.replaceChildren(
    h("h2", {}, "Keyboard shortcuts"),
    h(
      "table",
      {},
      ...(Object.keys(ACTION_NAMES) as Action[]).map((action) =>
        h(
          "tr",
          { "data-action": action },
          h("td", {}, ACTION_NAMES[action]),
          h("td", {}, h("kbd", {}, bindings[action])),
          h("td", {}, h("button", { type: "button", class: "rebind", onclick: () => rebind(action) }, "Change")),
        ),
      ),
      h("tr", {}, h("td", {}, "Pick label 1–9"), h("td", {}, h("kbd", {}, "1 … 9")), h("td", {})),
      h("tr", {}, h("td", {}, "Pan"), h("td", {}, h("kbd", {}, "middle drag / space + drag")), h("td", {})),
      h("tr", {}, h("td", {}, "Zoom"), h("td", {}, h("kbd", {}, "wheel")), h("td", {})),
      h("tr", {}, h("td", {}, "Add a vertex"), h("td", {}, h("kbd", {}, "double-click an edge")), h("td", {})),
    ),
    h("button", { type: "button", class: "primary", onclick: close }, "Close"),
  );
}

export function renderConflict(
  obj: LocalObject,
  current: ServerObject | null,
  labels: Label[],
  choose: (choice: "mine" | "theirs") => void,
  lock?: LockTrouble,
): void {
  if (lock) return renderLockConflict(obj, lock, choose);
  const name = (id: number) => labels.find((l) => l.id === id)?.name ?? `#${id}`;
  const describe = (label: number, polygons: LocalObject["polygons"]) =>
    `${name(label)}, ${vertexCount(polygons)} vertices, area ≈ ${Math.round(shapeArea(polygons))} px²`;
  const dialog = byId("ws-conflict");
  delete dialog.dataset.lock;
  const theirs = current
    ? `Version ${current.version}${current.updated_at ? ` saved ${new Date(current.updated_at).toLocaleTimeString()}` : ""}: ${describe(current.label, current.polygons)}`
    : "Someone deleted this object.";
  const changes: string[] = [];
  if (current && current.label !== obj.label) changes.push(`label: theirs ${name(current.label)}, yours ${name(obj.label)}`);
  if (current && !sameShape(current.polygons, obj.polygons, 1e-3)) changes.push("the outline differs (theirs is dashed on the image)");
  dialog.replaceChildren(
    h("h2", {}, "This object was changed by someone else"),
    h("p", {}, `Yours (based on version ${obj.version ?? "–"}): ${obj.deleted ? "deleted" : describe(obj.label, obj.polygons)}`),
    h("p", {}, `Theirs: ${theirs}`),
    h("ul", {}, ...changes.map((c) => h("li", {}, c))),
    h("button", { type: "button", class: "primary", id: "ws-keep-mine", onclick: () => choose("mine") }, "Keep mine"),
    " ",
    h("button", { type: "button", id: "ws-take-theirs", onclick: () => choose("theirs") }, current ? "Take theirs" : "Discard mine"),
  );
  dialog.hidden = false;
}

const LOCK_TITLE: Record<LockTrouble["reason"], (who: string) => string> = {
  leased: (who) => `${who || "Someone else"} is editing this object`,
  broken: (who) => `Your lock on this object was broken${who ? ` by ${who}` : ""}`,
  expired: () => "Your lock on this object expired",
};

/** A save refused because someone else holds the object (423), or our lease lost with an unsaved edit. */
function renderLockConflict(obj: LocalObject, lock: LockTrouble, choose: (choice: "mine" | "theirs") => void): void {
  const dialog = byId("ws-conflict");
  const leased = lock.reason === "leased";
  dialog.dataset.lock = lock.reason;
  dialog.replaceChildren(
    h("h2", {}, LOCK_TITLE[lock.reason](lock.person?.name ?? "")),
    h("p", {}, `Your unsaved change (based on version ${obj.version ?? "–"}, ${obj.deleted ? "deleted" : `${vertexCount(obj.polygons)} vertices`}) is kept in this browser.`),
    h("p", {}, leased ? "It is saved by itself once they are done; or save it now, or discard it." : "Save it now (if someone saved this object meanwhile, you choose between the versions), or discard it."),
    h("button", { type: "button", class: "primary", id: "ws-keep-mine", onclick: () => choose("mine") }, leased ? "Try saving mine now" : "Save mine"),
    " ",
    h("button", { type: "button", id: "ws-take-theirs", onclick: () => choose("theirs") }, "Discard mine"),
  );
  dialog.hidden = false;
}
