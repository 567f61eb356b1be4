/** The slice control of a stack: a slider, previous/next buttons, "Slice 3 / 10" and how many objects lie elsewhere. */

import { byId, h } from "./dom";
import { otherSlicesText, sliceText } from "./slices";

export class SlicePanel {
  constructor(
    root: HTMLElement,
    private readonly count: number,
    go: (index: number) => void,
    keys: { previous: string; next: string },
  ) {
    const slider = h("input", {
      id: "ws-slice",
      type: "range",
      min: 0,
      max: count - 1,
      step: 1,
      value: 0,
      "aria-label": "Slice",
      oninput: () => go(Number(slider.value)),
    });
    root.append(
      h(
        "section",
        { class: "ws-slices", "aria-label": "Slices" },
        h("h3", {}, h("span", { id: "ws-slice-text" }, sliceText(0, count))),
        h(
          "div",
          { class: "ws-display-row" },
          h("button", { type: "button", id: "ws-slice-prev", title: `Previous slice (${keys.previous})`, onclick: () => go(Number(slider.value) - 1) }, "◀"),
          slider,
          h("button", { type: "button", id: "ws-slice-next", title: `Next slice (${keys.next})`, onclick: () => go(Number(slider.value) + 1) }, "▶"),
        ),
        h("p", { id: "ws-slice-others", class: "ws-hint" }),
      ),
    );
  }

  show(index: number, elsewhere: number): void {
    byId<HTMLInputElement>("ws-slice").value = String(index);
    byId("ws-slice-text").textContent = sliceText(index, this.count);
    byId("ws-slice-others").textContent = otherSlicesText(elsewhere);
  }
}
