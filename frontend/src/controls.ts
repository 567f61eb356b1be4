/**
 * The toolbar's controls and the page's window events: image adjustments, mask opacity, the mask options
 * (initialised from the server's `ready.options`: the client has no defaults of its own), the undo / redo /
 * finish / help buttons, previous/next navigation, saving again when back online or logged in again in another
 * tab, and the warning before leaving unsaved work.
 */

import { byId } from "./dom";
import type { MaskOptions } from "./messages";

export interface ControlsHost {
  adjust(brightness: number, contrast: number): void;
  opacity(value: number): void; // 0–1, while the slider moves
  opacityChosen(): void; // the slider released: store the preference
  options(change: Partial<MaskOptions>): void;
  buttons: Record<"fit" | "undo" | "redo" | "finish" | "help", () => void>;
  online(): void;
  focused(): void;
  unsavedWork(): boolean; // true: warn before the page is left
}

const input = (id: string) => byId<HTMLInputElement>(id);

export function bindControls(host: ControlsHost): void {
  const adjust = () => host.adjust(Number(input("ws-brightness").value), Number(input("ws-contrast").value));
  input("ws-brightness").addEventListener("input", adjust);
  input("ws-contrast").addEventListener("input", adjust);
  input("ws-opacity").addEventListener("input", () => host.opacity(Number(input("ws-opacity").value) / 100));
  input("ws-opacity").addEventListener("change", () => host.opacityChosen());
  input("ws-threshold").addEventListener("change", () => host.options({ threshold: Number(input("ws-threshold").value) / 100 }));
  input("ws-largest").addEventListener("change", () => host.options({ largest_component: input("ws-largest").checked }));
  for (const [name, run] of Object.entries(host.buttons)) byId(`ws-${name === "help" ? "help-button" : name}`).addEventListener("click", run);
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
      navigate((event.currentTarget as HTMLAnchorElement).href);
    });
  }
}

/** The mask option controls show the server's defaults and become usable (they are disabled until then). */
export function showOptions(options: MaskOptions): void {
  input("ws-threshold").value = String(Math.round(options.threshold * 100));
  input("ws-largest").checked = options.largest_component;
  input("ws-threshold").disabled = false;
  input("ws-largest").disabled = false;
}

/** Go to another image; `beforeunload` warns when something is unsaved. */
export function navigate(url: string | null): void {
  if (url && !url.endsWith("#")) location.href = url;
}
