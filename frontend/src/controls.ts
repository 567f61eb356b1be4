/**
 * The toolbar's controls and the page's window events: image adjustments, mask opacity, the mask options of the
 * object being segmented (initialised from the server's `ready.options` and the user's remembered threshold and
 * tolerance; applied live while a slider moves, remembered when it is released), the toolbar buttons,
 * previous/next navigation (through the workspace, which finishes the object under way first), saving again when
 * back online or logged in again in another tab, and the warning before leaving unsaved work.
 */

import { byId } from "./dom";
import type { MaskOptions } from "./messages";

export interface ControlsHost {
  adjust(brightness: number, contrast: number): void;
  opacity(value: number): void; // 0–1, while the slider moves
  opacityChosen(): void; // the slider released: store the preference
  options(change: Partial<MaskOptions>): void; // while a slider moves (the newest value counts)
  optionsChosen(options: Partial<MaskOptions>): void; // a slider released: remember it for this user
  buttons: Record<"fit" | "undo" | "redo" | "finish" | "help" | "addClicks", () => void>;
  go(url: string): void; // previous / next image
  online(): void;
  focused(): void;
  unsavedWork(): boolean; // true: warn before the page is left
}

const input = (id: string) => byId<HTMLInputElement>(id);
const BUTTON_IDS: Record<keyof ControlsHost["buttons"], string> = {
  fit: "ws-fit",
  undo: "ws-undo",
  redo: "ws-redo",
  finish: "ws-finish",
  help: "ws-help-button",
  addClicks: "ws-add-clicks",
};

/** The threshold slider holds percent, the tolerance slider tenths of a pixel. */
const thresholdOf = () => Number(input("ws-threshold").value) / 100;
const toleranceOf = () => Number(input("ws-tolerance").value) / 10;

export function bindControls(host: ControlsHost): void {
  const adjust = () => host.adjust(Number(input("ws-brightness").value), Number(input("ws-contrast").value));
  input("ws-brightness").addEventListener("input", adjust);
  input("ws-contrast").addEventListener("input", adjust);
  input("ws-opacity").addEventListener("input", () => host.opacity(Number(input("ws-opacity").value) / 100));
  input("ws-opacity").addEventListener("change", () => host.opacityChosen());
  input("ws-threshold").addEventListener("input", () => {
    showValues();
    host.options({ threshold: thresholdOf() });
  });
  input("ws-threshold").addEventListener("change", () => {
    showValues();
    host.options({ threshold: thresholdOf() });
    host.optionsChosen({ threshold: thresholdOf() });
  });
  input("ws-tolerance").addEventListener("input", () => {
    showValues();
    host.options({ tolerance: toleranceOf() });
  });
  input("ws-tolerance").addEventListener("change", () => {
    showValues();
    host.options({ tolerance: toleranceOf() });
    host.optionsChosen({ tolerance: toleranceOf() });
  });
  input("ws-largest").addEventListener("change", () => host.options({ largest_component: input("ws-largest").checked }));
  for (const [name, run] of Object.entries(host.buttons)) byId(BUTTON_IDS[name as keyof ControlsHost["buttons"]]).addEventListener("click", run);
  window.addEventListener("online", () => host.online());
  window.addEventListener("focus", () => host.focused());
  window.addEventListener("beforeunload", (event) => {
    if (!host.unsavedWork()) return;
    event.preventDefault();
    event.returnValue = "";
  });
  for (const id of ["ws-prev", "ws-next"]) {
    byId(id).addEventListener("click", (event) => {
      event.preventDefault();
      const href = (event.currentTarget as HTMLAnchorElement).getAttribute("href");
      if (href && href !== "#") host.go(href);
    });
  }
}

/** The mask option controls show the options (the server's defaults, the user's own) and become usable. */
export function showOptions(options: MaskOptions): void {
  input("ws-threshold").value = String(Math.round(options.threshold * 100));
  input("ws-tolerance").value = String(Math.round(options.tolerance * 10));
  input("ws-largest").checked = options.largest_component;
  for (const id of ["ws-threshold", "ws-tolerance", "ws-largest"]) input(id).disabled = false;
  showValues();
}

function showValues(): void {
  byId("ws-threshold-value").textContent = thresholdOf().toFixed(2);
  byId("ws-tolerance-value").textContent = `${toleranceOf().toFixed(1)} px`;
}

/** The user's remembered mask options (preferences `maskThreshold`, `maskTolerance`), where they are valid. */
export function preferredOptions(preferences: Record<string, unknown>): Partial<MaskOptions> {
  const out: Partial<MaskOptions> = {};
  const t = preferences.maskThreshold;
  if (typeof t === "number" && t >= 0.01 && t <= 0.99) out.threshold = t;
  const tol = preferences.maskTolerance;
  if (typeof tol === "number" && tol >= 0 && tol <= 50) out.tolerance = tol;
  return out;
}

/** The preference keys a chosen option is stored under. */
export function preferenceOf(options: Partial<MaskOptions>): Record<string, number> {
  const out: Record<string, number> = {};
  if (options.threshold !== undefined) out.maskThreshold = options.threshold;
  if (options.tolerance !== undefined) out.maskTolerance = options.tolerance;
  return out;
}
