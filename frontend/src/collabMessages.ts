/**
 * The teamwork messages of the annotate socket (docs/collab-protocol: presence, object leases, live changes) as
 * types, and their defensive normalisers: a missing or malformed field never throws, it is dropped or defaulted
 * (an item of a list that is unusable is left out; a message without what it is about is null).
 */

import type { ReviewComment, ServerObject } from "./api";

/** A user as every teamwork message names them. */
export interface Person {
  id: number;
  name: string;
  colour: string; // "#rrggbb"
}

export interface Viewer extends Person {
  role: string;
}

export interface Lease {
  object: number;
  holder: Person;
  mine: boolean;
}

export type ObjectAction = "created" | "updated" | "deleted" | "restored";

export interface CollabReady {
  you: Person | null;
  viewers: Viewer[];
  leases: Lease[];
  lease_ttl_s: number;
  heartbeat_s: number;
  collab: boolean; // the server sent the teamwork fields (an older server sends none: no leases are asked for)
  can_edit: boolean; // false: a read-only socket (it watches; edits are refused); an older server: true
  can_break_leases: boolean; // a manager or admin: may take over an object someone else holds
}

export interface ViewersMessage {
  type: "viewers";
  viewers: Viewer[];
}
export interface LeasesMessage {
  type: "leases";
  leases: Lease[];
}
export interface LeaseRefusedMessage {
  type: "lease_refused";
  object: number;
  holder: Person | null;
  message: string;
}
export interface LeaseLostMessage {
  type: "lease_lost";
  object: number;
  reason: "broken" | "expired";
  by: Person | null;
}
export interface ObjectChangedMessage {
  type: "object_changed";
  action: ObjectAction;
  object: ServerObject;
  by: Person | null;
}
export interface ImageChangedMessage {
  type: "image_changed";
  image: { id: number; status: string; batch: number | null };
  by: Person | null;
}
/** The image is shown through another display mapping (window/level, stretch, bands): reload its rendering. */
export interface DisplayChangedMessage {
  type: "display_changed";
  image: number;
  display: Record<string, unknown>;
  by: Person | null;
}
export interface CommentAddedMessage {
  type: "comment_added";
  comment: ReviewComment;
}

export type CollabMessage =
  | ViewersMessage
  | LeasesMessage
  | LeaseRefusedMessage
  | LeaseLostMessage
  | ObjectChangedMessage
  | ImageChangedMessage
  | DisplayChangedMessage
  | CommentAddedMessage;

export type CollabClientMessage = { type: "lease"; object: number } | { type: "release"; object: number } | { type: "heartbeat" };

type Fields = Record<string, unknown>;
const isObject = (v: unknown): v is Fields => typeof v === "object" && v !== null && !Array.isArray(v);
const isNumber = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
const isId = (v: unknown): v is number => isNumber(v) && Number.isInteger(v);
const text = (v: unknown, fallback: string): string => (typeof v === "string" ? v : fallback);

export const DEFAULT_HEARTBEAT_S = 15;
export const DEFAULT_LEASE_TTL_S = 45;
const GREY = "#888888";

export function parsePerson(v: unknown): Person | null {
  if (!isObject(v) || !isId(v.id)) return null;
  const colour = typeof v.colour === "string" && /^#[0-9a-f]{6}$/i.test(v.colour) ? v.colour : GREY;
  return { id: v.id, name: text(v.name, `user ${v.id}`), colour };
}

function parseViewers(v: unknown): Viewer[] {
  if (!Array.isArray(v)) return [];
  return v.flatMap((item) => {
    const person = parsePerson(item);
    return person ? [{ ...person, role: text((item as Fields).role, "") }] : [];
  });
}

function parseLeases(v: unknown): Lease[] {
  if (!Array.isArray(v)) return [];
  return v.flatMap((item) => {
    const holder = isObject(item) ? parsePerson(item.holder) : null;
    return holder && isId(item.object) ? [{ object: item.object, holder, mine: item.mine === true }] : [];
  });
}

const positive = (v: unknown, fallback: number) => (isNumber(v) && v > 0 ? v : fallback);

/** The teamwork fields of a `ready` (defaults where absent). */
export function collabReady(m: Fields): CollabReady {
  return {
    you: parsePerson(m.you),
    viewers: parseViewers(m.viewers),
    leases: parseLeases(m.leases),
    lease_ttl_s: positive(m.lease_ttl_s, DEFAULT_LEASE_TTL_S),
    heartbeat_s: positive(m.heartbeat_s, DEFAULT_HEARTBEAT_S),
    collab: Array.isArray(m.leases) || isNumber(m.heartbeat_s),
    can_edit: m.can_edit !== false,
    can_break_leases: m.can_break_leases === true,
  };
}

const ACTIONS: readonly ObjectAction[] = ["created", "updated", "deleted", "restored"];

function isServerObject(v: unknown): v is ServerObject {
  return isObject(v) && isId(v.id) && isId(v.version);
}

/** A teamwork message of `type` normalised, or null when it lacks what it is about. */
export const COLLAB: Record<CollabMessage["type"], (m: Fields) => CollabMessage | null> = {
  viewers: (m) => (Array.isArray(m.viewers) ? { type: "viewers", viewers: parseViewers(m.viewers) } : null),
  leases: (m) => (Array.isArray(m.leases) ? { type: "leases", leases: parseLeases(m.leases) } : null),
  lease_refused: (m) => {
    if (!isId(m.object)) return null;
    const holder = parsePerson(m.holder);
    return { type: "lease_refused", object: m.object, holder, message: text(m.message, holder ? `Locked by ${holder.name}` : "Locked") };
  },
  lease_lost: (m) =>
    isId(m.object) ? { type: "lease_lost", object: m.object, reason: m.reason === "broken" ? "broken" : "expired", by: parsePerson(m.by) } : null,
  object_changed: (m) => {
    if (!ACTIONS.includes(m.action as ObjectAction) || !isServerObject(m.object)) return null;
    const o = m.object as unknown as Fields;
    if (m.action !== "deleted" && (!Array.isArray(o.polygons) || !isNumber(o.label))) return null; // nothing to draw
    return { type: "object_changed", action: m.action as ObjectAction, object: m.object, by: parsePerson(m.by) };
  },
  image_changed: (m) => {
    if (!isObject(m.image) || !isId(m.image.id) || typeof m.image.status !== "string") return null;
    const batch = isId(m.image.batch) ? m.image.batch : null;
    return { type: "image_changed", image: { id: m.image.id, status: m.image.status, batch }, by: parsePerson(m.by) };
  },
  display_changed: (m) =>
    isId(m.image) && isObject(m.display) && typeof m.display.mode === "string"
      ? { type: "display_changed", image: m.image, display: m.display, by: parsePerson(m.by) }
      : null,
  comment_added: (m) => {
    if (!isObject(m.comment) || !isId(m.comment.id)) return null;
    const c = m.comment;
    const num = (v: unknown) => (isNumber(v) ? v : null);
    const comment: ReviewComment = {
      ...(c as unknown as ReviewComment),
      object: num(c.object),
      author_name: typeof c.author_name === "string" ? c.author_name : null,
      text: text(c.text, ""),
      x: num(c.x),
      y: num(c.y),
      created_at: text(c.created_at, ""),
    };
    return { type: "comment_added", comment };
  },
};
