/** The workspace's HTML around the canvas: toolbar, label picker, object list, status bar, help and conflict dialogs. */

import type { ReviewComment, ServerObject } from "./api";
import { byId, h } from "./dom";
import type { LocalObject } from "./objects";
import { sameShape, shapeArea, vertexCount } from "./polygon";
import type { SaveState } from "./saver";
import { type Action, ACTION_NAMES, type Bindings } from "./shortcuts";

export interface Label {
  id: number;
  name: string;
  color: string;
}

export function buildLayout(root: HTMLElement, title: string, backUrl: string, prevUrl: string | null, nextUrl: string | null): void {
  const slider = (id: string, name: string, min: number, max: number, value?: number) =>
    h("label", { class: "ws-slider" }, name, h("input", { id, type: "range", min, max, value, "aria-label": name, disabled: value === undefined }));
  root.append(
    h(
      "div",
      { class: "ws-toolbar" },
      h("a", { href: backUrl, id: "ws-back" }, "← Project"),
      h("strong", { id: "ws-title" }, title),
      h("a", { id: "ws-prev", href: prevUrl ?? "#", class: prevUrl ? "" : "disabled", title: "Previous image" }, "◀ Prev"),
      h("a", { id: "ws-next", href: nextUrl ?? "#", class: nextUrl ? "" : "disabled", title: "Next image" }, "Next ▶"),
      h("button", { id: "ws-fit", type: "button" }, "Fit"),
      slider("ws-brightness", "Brightness", 20, 300, 100),
      slider("ws-contrast", "Contrast", 20, 300, 100),
      slider("ws-opacity", "Opacity", 0, 100, 50),
      slider("ws-threshold", "Threshold", 1, 99), // both set from the server's defaults once it is ready
      h("label", {}, h("input", { id: "ws-largest", type: "checkbox", disabled: true }), " Largest component"),
      h("button", { id: "ws-undo", type: "button", title: "Undo" }, "↶ Undo"),
      h("button", { id: "ws-redo", type: "button", title: "Redo" }, "↷ Redo"),
      h("button", { id: "ws-finish", type: "button", class: "primary" }, "Finish"),
      h("button", { id: "ws-help-button", type: "button", title: "Shortcuts" }, "?"),
    ),
    h(
      "div",
      { class: "ws-body" },
      h("div", { id: "ws-stage" }),
      h(
        "aside",
        { class: "ws-side" },
        h("p", { id: "ws-rejected", class: "ws-rejected", role: "status", hidden: true }, "The reviewer rejected this image: see the comments below (pinned on the image), fix it and submit the batch again."),
        h("h3", {}, "Labels"),
        h("div", { id: "ws-labels" }),
        h("h3", {}, "Objects"),
        h("ul", { id: "ws-objects" }),
        h("h3", { id: "ws-comments-title", hidden: true }, "Review comments"),
        h("ol", { id: "ws-comments", class: "ws-comments" }),
        h("p", { class: "ws-hint" }, "Left click: add · Right click: remove · Space: finish · click a marker to delete it"),
      ),
    ),
    h(
      "div",
      { class: "ws-status" },
      h("span", { id: "ws-connection", "data-state": "connecting" }, "Connecting…"),
      h("span", { id: "ws-latency" }, ""),
      h("span", { id: "ws-save", "data-state": "saved" }, "All changes saved"),
    ),
    h("div", { id: "ws-help", class: "ws-dialog", hidden: true }),
    h("div", { id: "ws-conflict", class: "ws-dialog", hidden: true, role: "dialog", "aria-label": "Save conflict" }),
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

export interface ObjectListActions {
  select(obj: LocalObject): void;
  remove(obj: LocalObject): void;
  relabel(obj: LocalObject, label: number): void;
  toggle(obj: LocalObject): void;
}

export function renderObjects(objects: LocalObject[], labels: Label[], selected: string | null, act: ObjectListActions): void {
  const rows = objects
    .filter((o) => !o.deleted)
    .map((obj, i) => {
      const select = h("select", { "aria-label": "Label", onchange: (e: Event) => act.relabel(obj, Number((e.target as HTMLSelectElement).value)) });
      for (const label of labels) {
        const option = h("option", { value: label.id }, label.name);
        option.selected = label.id === obj.label;
        select.append(option);
      }
      const color = labels.find((l) => l.id === obj.label)?.color ?? "#888";
      const state = obj.problem ? "problem" : obj.dirty ? "unsaved" : "saved";
      return h(
        "li",
        { class: `ws-object${obj.localId === selected ? " selected" : ""}`, "data-object": obj.serverId ?? "", "data-state": state, title: obj.problem ?? "" },
        h("span", { class: "chip", style: `background:${color}` }, String(i + 1)),
        h("input", { type: "checkbox", checked: obj.visible, "aria-label": "Visible", onchange: () => act.toggle(obj) }),
        select,
        h("button", { type: "button", class: "select", onclick: () => act.select(obj) }, "Select"),
        h("button", { type: "button", class: "delete", title: "Delete", onclick: () => act.remove(obj) }, "✕"),
        h("span", { class: "ws-object-state" }, state === "saved" ? "" : state === "unsaved" ? "●" : "!"),
      );
    });
  byId("ws-objects").replaceChildren(...(rows.length ? rows : [h("li", { class: "empty" }, "No objects yet.")]));
}

/** The image's comments (what the reviewer asked for); a comment on an object selects that object. */
export function renderComments(comments: ReviewComment[], objects: LocalObject[], select: (obj: LocalObject) => void): void {
  byId("ws-comments-title").hidden = comments.length === 0;
  const shown = objects.filter((o) => !o.deleted);
  byId("ws-comments").replaceChildren(
    ...comments.map((c) => {
      const index = c.object === null ? -1 : shown.findIndex((o) => o.serverId === c.object);
      const on = index >= 0 ? h("button", { type: "button", class: "ws-comment-object", onclick: () => select(shown[index]) }, `object ${index + 1}`) : "";
      return h("li", { "data-comment": c.id }, h("strong", {}, c.author_name ?? "—"), on ? " on " : "", on, `: ${c.text}`);
    }),
  );
}

const SAVE_TEXT: Record<SaveState, string> = {
  saved: "All changes saved",
  unsaved: "Unsaved changes",
  saving: "Saving…",
  offline: "Offline — changes kept in this browser",
  auth: "Session expired",
  conflict: "Save conflict — choose a version",
  error: "Not saved",
};

export function renderSave(state: SaveState, unsaved: number, message: string, loginUrl: string, onLogin: () => void): void {
  const el = byId("ws-save");
  el.dataset.state = state;
  el.title = message;
  const text = unsaved && state !== "saved" ? `${SAVE_TEXT[state]} (${unsaved} unsaved)` : SAVE_TEXT[state];
  el.replaceChildren(text);
  if (state === "auth") el.append(" — ", h("a", { href: loginUrl, id: "ws-login", onclick: onLogin }, "Log in again"));
  if (state === "error" && message) el.append(` — ${message}`);
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
): void {
  const name = (id: number) => labels.find((l) => l.id === id)?.name ?? `#${id}`;
  const describe = (label: number, polygons: LocalObject["polygons"]) =>
    `${name(label)}, ${vertexCount(polygons)} vertices, area ≈ ${Math.round(shapeArea(polygons))} px²`;
  const dialog = byId("ws-conflict");
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
