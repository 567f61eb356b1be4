/**
 * The Display panel of a source image (16-bit, DICOM…): window presets, window center/width (sliders over the
 * image's value range and free numeric inputs), a percentile stretch (low/high), the bands shown as R, G, B when
 * the image has several, and inversion. Every change is reported at once (`changed`); the workspace sends the
 * newest (displaySync.ts) and shows the result. `show` sets the controls from a mapping (the server's, or
 * someone else's change).
 */

import { byId, h } from "./dom";
import { type DisplayMapping, describeDisplay, numberText, presetOf, type SourceInfo, windowRange, withPreset } from "./displayMapping";

const input = (id: string) => byId<HTMLInputElement>(id);
const select = (id: string) => byId<HTMLSelectElement>(id);

/** A slider step of about a thousandth of the range: 1 or more for integer samples, 10^k otherwise. */
function stepFor(span: number, integer: boolean): number {
  const step = 10 ** Math.floor(Math.log10(span / 1000));
  return integer ? Math.max(1, step) : step;
}

export class DisplayPanel {
  private display: DisplayMapping;
  private readonly range: { min: number; max: number };

  constructor(
    root: HTMLElement,
    private readonly source: SourceInfo,
    private readonly changed: (display: DisplayMapping) => void,
  ) {
    this.display = { ...source.display };
    this.range = windowRange(source);
    root.append(this.build());
    this.show(source.display);
  }

  private build(): HTMLElement {
    const { min, max } = this.range;
    const span = max - min;
    const step = stepFor(span, !this.source.sampleType.startsWith("float"));
    const pair = (id: string, name: string, lo: number, hi: number, s: number) =>
      h(
        "label",
        { class: "ws-display-row" },
        h("span", { class: "ws-display-name" }, name),
        h("input", { id, type: "range", min: lo, max: hi, step: s, "aria-label": `${name} (slider)`, oninput: () => this.fromSlider(id) }),
        h("input", { id: `${id}-value`, type: "number", step: "any", "aria-label": name, onchange: () => this.fromNumber(id) }),
      );
    const bands = this.source.bands > 1
      ? h(
          "div",
          { class: "ws-display-row ws-bands" },
          h("span", { class: "ws-display-name" }, "Bands"),
          ...["R", "G", "B"].map((colour) => {
            const s = h("select", { id: `ws-band-${colour.toLowerCase()}`, "aria-label": `Band shown as ${colour}`, onchange: () => this.edited() });
            for (let b = 0; b < this.source.bands; b++) s.append(h("option", { value: b }, `${colour}: ${b + 1}`));
            return s;
          }),
        )
      : "";
    const presets = this.source.presets.map((preset) =>
      h("button", { type: "button", class: "ws-preset", "data-preset": preset.name, title: `Window L ${preset.center} W ${preset.width}`, onclick: () => this.choose(withPreset(this.display, preset)) }, preset.name),
    );
    const mode = h(
      "select",
      { id: "ws-display-mode", "aria-label": "Display mode", onchange: () => this.edited() },
      h("option", { value: "window" }, "Window / level"),
      h("option", { value: "percentile" }, "Percentile stretch"),
    );
    return h(
      "section",
      { id: "ws-display", class: "ws-display", "aria-label": "Display" },
      h("h3", {}, "Display"),
      h("p", { id: "ws-display-text", class: "ws-display-text", role: "status" }),
      presets.length ? h("div", { id: "ws-presets", class: "ws-presets" }, ...presets) : "",
      h("label", { class: "ws-display-row" }, h("span", { class: "ws-display-name" }, "Mode"), mode),
      h(
        "div",
        { id: "ws-window-controls" },
        pair("ws-center", "Center (level)", min, max, step),
        pair("ws-width", "Width", step, span, step),
      ),
      h("div", { id: "ws-percentile-controls" }, pair("ws-low", "Low %", 0, 100, 0.5), pair("ws-high", "High %", 0, 100, 0.5)),
      bands,
      h("label", { class: "ws-display-row" }, h("input", { id: "ws-invert", type: "checkbox", onchange: () => this.edited() }), " Invert"),
      h("p", { id: "ws-display-error", class: "ws-display-error", role: "alert", hidden: true }),
    );
  }

  /** The controls set from `display` (nothing is reported). */
  show(display: DisplayMapping): void {
    this.display = { ...display };
    const d = display;
    select("ws-display-mode").value = d.mode;
    const center = d.center ?? (this.range.min + this.range.max) / 2;
    const width = d.width ?? this.range.max - this.range.min;
    this.setPair("ws-center", center);
    this.setPair("ws-width", width);
    this.setPair("ws-low", d.low ?? 2);
    this.setPair("ws-high", d.high ?? 98);
    input("ws-invert").checked = !!d.invert;
    if (this.source.bands > 1) {
      const bands = d.bands?.length ? d.bands : [0];
      ["r", "g", "b"].forEach((c, i) => (select(`ws-band-${c}`).value = String(bands[Math.min(i, bands.length - 1)])));
    }
    byId("ws-window-controls").hidden = d.mode !== "window";
    byId("ws-percentile-controls").hidden = d.mode !== "percentile";
    const chosen = presetOf(d, this.source.presets)?.name;
    for (const button of byId("ws-display").querySelectorAll<HTMLButtonElement>("button.ws-preset")) {
      button.classList.toggle("current", button.dataset.preset === chosen);
    }
    byId("ws-display-text").textContent = describeDisplay(d, this.source.presets, this.source.bands);
  }

  /** The server refused a mapping (or could not be reached): said here; the controls keep what was chosen. */
  error(message: string | null): void {
    const el = byId("ws-display-error");
    el.textContent = message ?? "";
    el.hidden = !message;
  }

  /** Read-only (the batch was submitted, the image accepted): the mapping is shown, not changed. */
  setEnabled(enabled: boolean): void {
    for (const control of byId("ws-display").querySelectorAll<HTMLInputElement | HTMLSelectElement | HTMLButtonElement>("input, select, button")) {
      control.disabled = !enabled;
    }
  }

  /** The mapping the controls show now. */
  read(): DisplayMapping {
    const mode = select("ws-display-mode").value === "percentile" ? "percentile" : "window";
    const invert = input("ws-invert").checked;
    let bands = this.display.bands ?? [0];
    if (this.source.bands > 1) {
      const rgb = ["r", "g", "b"].map((c) => Number(select(`ws-band-${c}`).value));
      bands = rgb.every((b) => b === rgb[0]) ? [rgb[0]] : rgb;
    }
    if (mode === "window") {
      return { mode, center: Number(input("ws-center-value").value), width: Number(input("ws-width-value").value), bands, invert };
    }
    return { mode, low: Number(input("ws-low-value").value), high: Number(input("ws-high-value").value), bands, invert };
  }

  private setPair(id: string, value: number): void {
    input(id).value = String(value);
    input(`${id}-value`).value = numberText(value);
  }

  private fromSlider(id: string): void {
    input(`${id}-value`).value = numberText(Number(input(id).value));
    this.edited();
  }

  private fromNumber(id: string): void {
    input(id).value = input(`${id}-value`).value;
    this.edited();
  }

  private choose(display: DisplayMapping): void {
    this.show(display);
    this.changed(display);
  }

  private edited(): void {
    const display = this.read();
    this.show(display);
    this.changed(display);
  }
}
