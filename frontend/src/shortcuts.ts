/** Keyboard shortcuts: default bindings, per-user overrides (stored in /api/me/preferences/), lookup. */

export type Action =
  | "finish"
  | "addClicks"
  | "undo"
  | "redo"
  | "cancel"
  | "deleteSelected"
  | "previousImage"
  | "nextImage"
  | "fit"
  | "zoomIn"
  | "zoomOut"
  | "toggleMask"
  | "previousSlice"
  | "nextSlice"
  | "help";

export const ACTION_NAMES: Record<Action, string> = {
  finish: "Finish the object (mask → polygon)",
  addClicks: "Add clicks to the selected object (re-open it)",
  undo: "Undo",
  redo: "Redo",
  cancel: "Cancel the object / close dialogs",
  deleteSelected: "Delete the selected vertex or object",
  previousImage: "Previous image (finishes the object under way)",
  nextImage: "Next image (finishes the object under way)",
  fit: "Fit the image to the screen",
  zoomIn: "Zoom in",
  zoomOut: "Zoom out",
  toggleMask: "Show / hide the mask overlay",
  previousSlice: "Previous slice of a stack (finishes the object under way)",
  nextSlice: "Next slice of a stack (finishes the object under way)",
  help: "Show this help",
};

export type Bindings = Record<Action, string>;

export const DEFAULT_BINDINGS: Bindings = {
  finish: "space",
  addClicks: "e",
  undo: "ctrl+z",
  redo: "ctrl+y",
  cancel: "escape",
  deleteSelected: "delete",
  previousImage: "s",
  nextImage: "f",
  fit: "0",
  zoomIn: "=",
  zoomOut: "-",
  toggleMask: "m",
  previousSlice: ",",
  nextSlice: ".",
  help: "?",
};

export interface KeyLike {
  key: string;
  ctrlKey?: boolean;
  metaKey?: boolean;
  altKey?: boolean;
  shiftKey?: boolean;
}

/** "ctrl+shift+z", "space", "f", "1", "?" — Cmd counts as Ctrl; Shift is kept only for letters and named keys. */
export function keyName(event: KeyLike): string {
  let key = event.key === " " ? "space" : event.key.toLowerCase();
  if (key === "del") key = "delete";
  const parts: string[] = [];
  if (event.ctrlKey || event.metaKey) parts.push("ctrl");
  if (event.altKey) parts.push("alt");
  const printable = key.length === 1 && !/[a-z]/.test(key);
  if (event.shiftKey && !printable) parts.push("shift");
  parts.push(key);
  return parts.join("+");
}

/** Defaults overridden by the user's choices; unknown actions and empty keys are ignored. */
export function mergeBindings(overrides: unknown): Bindings {
  const bindings = { ...DEFAULT_BINDINGS };
  if (overrides && typeof overrides === "object") {
    for (const [action, key] of Object.entries(overrides as Record<string, unknown>)) {
      if (action in bindings && typeof key === "string" && key.trim()) bindings[action as Action] = key.trim().toLowerCase();
    }
  }
  return bindings;
}

/** Bind `key` to `action`; an action that had the key before swaps to the action's old key. */
export function rebind(bindings: Bindings, action: Action, key: string): Bindings {
  const next = { ...bindings };
  const holder = (Object.keys(next) as Action[]).find((a) => next[a] === key && a !== action);
  if (holder) next[holder] = bindings[action];
  next[action] = key;
  return next;
}

/** Only the bindings that differ from the defaults (what is stored in preferences). */
export function overridesOf(bindings: Bindings): Partial<Bindings> {
  const out: Partial<Bindings> = {};
  for (const action of Object.keys(bindings) as Action[]) if (bindings[action] !== DEFAULT_BINDINGS[action]) out[action] = bindings[action];
  return out;
}

export function actionFor(bindings: Bindings, key: string): Action | undefined {
  return (Object.keys(bindings) as Action[]).find((a) => bindings[a] === key);
}

/** Number keys 1–9 pick the n-th label. */
export function labelIndexFor(key: string): number | undefined {
  return /^[1-9]$/.test(key) ? Number(key) - 1 : undefined;
}
