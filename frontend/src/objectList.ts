/**
 * The side panel's object list and the review comments. An entry shows the object's number (the server's, the
 * same one the review page and the comments use; "new" until it is saved), its label, area, clicks and author;
 * hovering it highlights the object on the canvas; "Add clicks" re-opens it for clicks. An object someone else
 * is editing carries their name (`data-leased-by`) and offers no edit (its Select says who holds it).
 */

import type { ReviewComment } from "./api";
import { byId, h } from "./dom";
import type { LocalObject } from "./objects";
import type { Holder } from "./leaseTags";
import type { Label } from "./panels";
import { shapeArea } from "./polygon";

export interface ObjectListActions {
  select(obj: LocalObject): void;
  remove(obj: LocalObject): void;
  relabel(obj: LocalObject, label: number): void;
  toggle(obj: LocalObject): void;
  addClicks(obj: LocalObject): void;
  hover(obj: LocalObject | null): void;
  takeOver?(obj: LocalObject): void; // managers: break the holder's lease and select the object
}

/** "#3", or "new" for an object the server has not numbered yet. */
export function numberText(obj: Pick<LocalObject, "number">): string {
  return obj.number === null ? "new" : `#${obj.number}`;
}

export function describe(obj: LocalObject, me: string): string {
  const area = `${Math.round(shapeArea(obj.polygons)).toLocaleString("en")} px²`;
  const clicks = `${obj.clicksUsed} click${obj.clicksUsed === 1 ? "" : "s"}`;
  const author = obj.authorName ?? (obj.serverId === null ? me : "—");
  return `${area} · ${clicks} · ${author}`;
}

export function renderObjects(
  objects: LocalObject[],
  labels: Label[],
  selected: string | null,
  me: string,
  act: ObjectListActions,
  leasedBy: (obj: LocalObject) => Holder | null = () => null,
): void {
  const rows = objects
    .filter((o) => !o.deleted)
    .map((obj) => {
      const holder = leasedBy(obj);
      const locked = holder !== null;
      const select = h("select", { "aria-label": "Label", disabled: locked, onchange: (e: Event) => act.relabel(obj, Number((e.target as HTMLSelectElement).value)) });
      for (const label of labels) {
        const option = h("option", { value: label.id }, label.name);
        option.selected = label.id === obj.label;
        select.append(option);
      }
      const color = labels.find((l) => l.id === obj.label)?.color ?? "#888";
      const state = obj.problem ? "problem" : obj.dirty ? "unsaved" : "saved";
      return h(
        "li",
        {
          class: `ws-object${obj.localId === selected ? " selected" : ""}`,
          "data-object": obj.serverId ?? "",
          "data-number": obj.number ?? "",
          "data-state": state,
          "data-leased-by": holder?.name,
          title: obj.problem ?? (holder ? `Locked by ${holder.name}` : ""),
          onmouseenter: () => act.hover(obj),
          onmouseleave: () => act.hover(null),
        },
        h(
          "div",
          { class: "ws-object-row" },
          h("span", { class: "chip ws-object-number", style: `background:${color}` }, numberText(obj)),
          h("input", { type: "checkbox", checked: obj.visible, "aria-label": "Visible", onchange: () => act.toggle(obj) }),
          select,
          h("button", { type: "button", class: "select", onclick: () => act.select(obj) }, "Select"),
          h("button", { type: "button", class: "add-clicks", title: "Add clicks to this object (E)", disabled: locked, onclick: () => act.addClicks(obj) }, "+ Clicks"),
          h("button", { type: "button", class: "delete", title: "Delete", disabled: locked, onclick: () => act.remove(obj) }, "✕"),
          h("span", { class: "ws-object-state" }, state === "saved" ? "" : state === "unsaved" ? "●" : "!"),
        ),
        holder
          ? h(
              "div",
              { class: "ws-object-lock", style: `border-color:${holder.colour}` },
              `Locked: ${holder.name} is editing `,
              act.takeOver
                ? h("button", { type: "button", class: "ws-take-over", title: `End ${holder.name}'s lock and edit this object (their unsaved edit stays with them as a conflict)`, onclick: () => act.takeOver?.(obj) }, "Take over")
                : "",
            )
          : "",
        h("div", { class: "ws-object-meta" }, describe(obj, me)),
      );
    });
  byId("ws-objects").replaceChildren(...(rows.length ? rows : [h("li", { class: "empty" }, "No objects yet.")]));
}

/** The image's comments (what the reviewer asked for); a comment on an object selects that object. */
export function renderComments(comments: ReviewComment[], objects: LocalObject[], select: (obj: LocalObject) => void): void {
  byId("ws-comments-title").hidden = comments.length === 0;
  byId("ws-comments").replaceChildren(
    ...comments.map((c) => {
      const obj = c.object === null ? undefined : objects.find((o) => o.serverId === c.object && !o.deleted);
      const number = c.object_number ?? obj?.number ?? null;
      const name = number !== null ? `object #${number}` : "an object";
      const on = c.object === null ? "" : obj ? h("button", { type: "button", class: "ws-comment-object", onclick: () => select(obj) }, name) : name;
      return h("li", { "data-comment": c.id }, h("strong", {}, c.author_name ?? "—"), on ? " on " : "", on, `: ${c.text}`);
    }),
  );
}
