/**
 * Who else has the image open: one badge per person, their initials in their colour (`[data-user-id]` in the
 * given container, `#ws-viewers` in the workspace), their name and role in the tooltip.
 */

import type { Viewer } from "./collabMessages";
import { h } from "./dom";

/** "ann" → "AN", "Ann Lee" → "AL", "ann.lee" → "AL"; at most two letters, upper case. */
export function initials(name: string): string {
  const words = name.split(/[\s._@-]+/).filter(Boolean);
  const letters = words.length > 1 ? words[0][0] + words[1][0] : (words[0] ?? "?").slice(0, 2);
  return letters.toUpperCase();
}

/** Black or white text, whichever reads better on `colour` ("#rrggbb"). */
export function textOn(colour: string): string {
  const n = Number.parseInt(colour.slice(1), 16);
  const [r, g, b] = [(n >> 16) & 255, (n >> 8) & 255, n & 255];
  return 0.299 * r + 0.587 * g + 0.114 * b > 150 ? "#000000" : "#ffffff";
}

export function renderViewers(container: HTMLElement, viewers: readonly Viewer[]): void {
  container.dataset.count = String(viewers.length);
  container.title = viewers.length ? `Also on this image: ${viewers.map((v) => v.name).join(", ")}` : "Nobody else has this image open";
  container.replaceChildren(
    ...viewers.map((v) =>
      h(
        "span",
        {
          class: "viewer",
          "data-user-id": v.id,
          "data-name": v.name,
          "data-role": v.role,
          title: v.role ? `${v.name} (${v.role})` : v.name,
          style: `background:${v.colour};color:${textOn(v.colour)}`,
        },
        initials(v.name),
      ),
    ),
  );
}
