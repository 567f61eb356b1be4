/**
 * The websocket protocol v2 (docs/interactive-protocol.md) as types: what the browser sends, what the server
 * answers (a discriminated union on `type`), and the guard that turns a received frame into one of them.
 */

import { COLLAB, type CollabClientMessage, type CollabMessage, type CollabReady, collabReady } from "./collabMessages";
import type { Shape } from "./polygon";
import type { Rle } from "./rle";

/** One click: `x` column, `y` row, pixel indices of the full image. */
export interface Click {
  x: number;
  y: number;
  positive: boolean;
}

/** Post-processing of the mask; the server's `ready.options` are the defaults. */
export interface MaskOptions {
  threshold: number;
  largest_component: boolean;
  tolerance: number;
}

// ---------------------------------------------------------------- client → server
export type ClientMessage =
  | ({ type: "start"; label: number; slice?: number; model?: string; clicks?: Click[]; seq?: number } & Partial<MaskOptions>)
  | { type: "clicks"; seq: number; clicks: Click[] }
  | ({ type: "options"; seq: number } & Partial<MaskOptions>)
  | { type: "cancel" }
  | { type: "ping" }
  | CollabClientMessage; // lease, release, heartbeat (collabMessages.ts)

// ---------------------------------------------------------------- server → client
/** Whether a click is computed now; `reason` when not: warming_up, no_workers, unavailable. */
export interface InferenceReadiness {
  ready: boolean;
  reason?: string | null;
  message?: string;
  workers?: number;
}

export interface ReadyMessage {
  type: "ready";
  image: { id: number; width: number; height: number };
  model: string;
  models: string[];
  options: MaskOptions;
  team: CollabReady; // you, viewers, leases, lease_ttl_s, heartbeat_s (normalised; defaults from an older server)
  inference?: InferenceReadiness | null; // null on a read-only socket
}

/** The inference workers' readiness changed since `ready` (sent once the model is warm). */
export interface ModelStatusMessage extends InferenceReadiness {
  type: "model_status";
}

/** The click `seq` was not computed: the workers are overloaded or not warm; send it again after `retry_after_s`. */
export interface BusyMessage {
  type: "busy";
  seq: number;
  reason: string; // overloaded | warming_up | no_workers
  retry_after_s: number;
  message: string;
}

export interface StartedMessage {
  type: "started";
  session: string;
  model: string;
  label: number;
}

export interface MaskMessage {
  type: "mask";
  seq: number;
  clicks: number; // how many clicks the mask was computed from
  steps: number; // forward passes run (0: a known state)
  rebuilt: boolean;
  rle: Rle; // at the image's size, or the working size of a huge image
  mask_box?: number[] | null; // [x, y, w, h]: the image rectangle the RLE covers (a tiled image); absent: all of it
  bbox: number[];
  area: number;
  polygons: Shape;
  latency: { queue_s?: number; load_s?: number; forward_s?: number; network_s?: number; post_s?: number; total_s?: number };
  worker?: string;
  engine?: string;
}

export interface SupersededMessage {
  type: "superseded";
  seq: number;
}

export interface CancelledMessage {
  type: "cancelled";
  session?: string;
}

export interface ErrorMessage {
  type: "error";
  code: string;
  message: string;
  seq?: number;
  details?: Record<string, unknown>;
}

export interface PongMessage {
  type: "pong";
  time?: number;
}

export type ServerMessage =
  | ReadyMessage
  | StartedMessage
  | MaskMessage
  | SupersededMessage
  | CancelledMessage
  | ErrorMessage
  | PongMessage
  | BusyMessage
  | ModelStatusMessage
  | CollabMessage;

type OwnType = Exclude<ServerMessage["type"], CollabMessage["type"]>;

type Fields = Record<string, unknown>;
const isObject = (v: unknown): v is Fields => typeof v === "object" && v !== null && !Array.isArray(v);
const isNumber = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

function isOptions(v: unknown): v is MaskOptions {
  return isObject(v) && isNumber(v.threshold) && typeof v.largest_component === "boolean" && isNumber(v.tolerance);
}

/** What each type must carry for the client to use it (further fields pass through). */
const REQUIRED: Record<OwnType, (m: Fields) => boolean> = {
  ready: (m) => isObject(m.image) && isNumber(m.image.width) && isNumber(m.image.height) && Array.isArray(m.models) && isOptions(m.options),
  started: () => true,
  mask: (m) => isNumber(m.seq) && isNumber(m.area) && Array.isArray(m.polygons) && isObject(m.rle) && Array.isArray(m.rle.size) && typeof m.rle.counts === "string",
  superseded: (m) => isNumber(m.seq),
  cancelled: () => true,
  error: (m) => typeof m.code === "string" && (m.seq === undefined || isNumber(m.seq)),
  pong: () => true,
  busy: (m) => isNumber(m.seq) && isNumber(m.retry_after_s) && typeof m.reason === "string",
  model_status: (m) => typeof m.ready === "boolean",
};

/** A received frame as a typed message; null for anything that is not JSON, of an unknown type or malformed. */
export function parseServerMessage(data: string): ServerMessage | null {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return null;
  }
  if (!isObject(value) || typeof value.type !== "string") return null;
  const name = value.type;
  const has = (table: object) => Object.prototype.hasOwnProperty.call(table, name);
  if (has(COLLAB)) return COLLAB[name as CollabMessage["type"]](value);
  if (!has(REQUIRED)) return null;
  const type = name as OwnType;
  if (!REQUIRED[type](value)) return null;
  if (type === "ready") value.team = collabReady(value);
  if ((type === "error" || type === "busy") && typeof value.message !== "string") value.message = type === "busy" ? "The model is busy." : value.code;
  if (type === "mask" && !isObject(value.latency)) value.latency = {};
  return value as unknown as ServerMessage;
}
