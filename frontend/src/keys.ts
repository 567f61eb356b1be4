/**
 * The workspace's keyboard: bound actions (shortcuts.ts holds the bindings), number keys for labels, Space
 * (held with a drag: pan; pressed alone: its action), and the help dialog where a binding is changed.
 */

import { request } from "./api";
import { byId } from "./dom";
import { renderHelp } from "./panels";
import { type Action, actionFor, type Bindings, keyName, labelIndexFor, mergeBindings, overridesOf, rebind } from "./shortcuts";

export interface KeysHost {
  actions: Record<Action, () => void>;
  pickLabel(index: number): void; // the n-th label (0-based)
  space: { spaceHeld: boolean; pannedWhileSpace: boolean }; // the canvas: Space + drag pans
  flash(message: string): void;
}

const MODIFIERS = ["shift", "control", "alt", "meta"];

export class Keys {
  private bindings: Bindings = mergeBindings({});
  private rebinding: Action | null = null;

  constructor(private readonly host: KeysHost) {
    window.addEventListener("keydown", (event) => this.down(event));
    window.addEventListener("keyup", (event) => this.up(event));
  }

  /** The user's own bindings (from their preferences). */
  use(overrides: unknown): void {
    this.bindings = mergeBindings(overrides);
  }

  toggleHelp(): void {
    const dialog = byId("ws-help");
    if (!dialog.hidden) {
      dialog.hidden = true;
      return;
    }
    this.renderHelp();
    dialog.hidden = false;
  }

  private renderHelp(): void {
    renderHelp(this.bindings, (action) => this.startRebind(action), () => (byId("ws-help").hidden = true));
  }

  private startRebind(action: Action): void {
    this.rebinding = action;
    const row = document.querySelector(`#ws-help tr[data-action="${action}"] kbd`);
    if (row) row.textContent = "press a key…";
  }

  private finishRebind(action: Action, key: string): void {
    this.rebinding = null;
    this.bindings = rebind(this.bindings, action, key);
    void request("PATCH", "/api/me/preferences/", { shortcuts: overridesOf(this.bindings) }).catch(() => this.host.flash("Could not store the shortcut."));
    this.renderHelp();
  }

  private down(event: KeyboardEvent): void {
    const target = event.target as HTMLInputElement | null;
    if (target && ["INPUT", "SELECT", "TEXTAREA"].includes(target.tagName) && target.type !== "range" && target.type !== "checkbox") return;
    const key = keyName(event);
    if (this.rebinding) {
      if (MODIFIERS.includes(event.key.toLowerCase())) return;
      event.preventDefault();
      this.finishRebind(this.rebinding, key);
      return;
    }
    if (key === "space") {
      event.preventDefault();
      if (!event.repeat) {
        this.host.space.spaceHeld = true;
        this.host.space.pannedWhileSpace = false;
      }
      return;
    }
    const action = actionFor(this.bindings, key);
    if (action) {
      event.preventDefault();
      this.host.actions[action]();
      return;
    }
    const index = labelIndexFor(key);
    if (index !== undefined) this.host.pickLabel(index);
  }

  private up(event: KeyboardEvent): void {
    if (keyName(event) !== "space" || this.rebinding) return;
    const space = this.host.space;
    space.spaceHeld = false;
    const panned = space.pannedWhileSpace;
    space.pannedWhileSpace = false;
    // Space held with a drag pans; a Space press alone runs whatever Space is bound to.
    const action = actionFor(this.bindings, "space");
    if (!panned && action) this.host.actions[action]();
  }
}
