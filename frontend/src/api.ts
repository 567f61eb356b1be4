/** REST calls with the session cookie and CSRF token; failures become ApiError (an answer) or NetworkError. */

import type { Click } from "./messages";
import type { Shape } from "./polygon";

export interface ServerObject {
  id: number;
  image: number;
  slice?: number; // the slice of a stack it lies on (0 for a 2-D image)
  label: number;
  polygons: Shape;
  mask_rle?: { size: [number, number]; counts: string };
  bbox?: number[];
  area: number;
  author: number | null;
  source?: string;
  clicks_used: number;
  seconds_spent: number;
  version: number;
  client_key?: string | null; // the creating browser's id of the object
  updated_at?: string;
  number?: number | null; // per image, from 1: the number every page shows (comments too)
  clicks?: Click[]; // the clicks the current shape was computed from ([] for drawn or imported objects)
  author_name?: string | null; // the creator's username
  last_editor_name?: string | null;
}

/** A comment on an image (a reviewer's, usually), pinned at a pixel and/or on an object. */
export interface ReviewComment {
  id: number;
  object: number | null;
  object_number?: number | null; // the number of the object it is on
  author_name: string | null;
  text: string;
  x: number | null;
  y: number | null;
  created_at: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly details: Record<string, unknown> | null,
    readonly body: Record<string, unknown> | null = null, // the whole answer (a 423 names the lease holder in it)
  ) {
    super(`${status} ${code}: ${detail}`);
  }
}

/** The server could not be reached (offline, connection refused, or a proxy's 502/503/504). */
export class NetworkError extends Error {}

export function csrfToken(): string {
  // Read on every request: logging in again rotates the token.
  const match = /(?:^|;\s*)csrftoken=([^;]+)/.exec(document.cookie);
  return match ? decodeURIComponent(match[1]) : "";
}

export async function request<T>(method: string, url: string, body?: unknown): Promise<T> {
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      credentials: "same-origin",
      headers: {
        Accept: "application/json",
        ...(body !== undefined ? { "Content-Type": "application/json" } : {}),
        ...(method !== "GET" ? { "X-CSRFToken": csrfToken() } : {}),
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
  } catch (exc) {
    throw new NetworkError(String(exc));
  }
  if ([502, 503, 504].includes(response.status)) throw new NetworkError(`HTTP ${response.status}`);
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let data: any = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    throw new ApiError(
      response.status,
      (data && (data.error || data.code)) || `http_${response.status}`,
      (data && (data.detail || data.message)) || response.statusText,
      (data && data.details) || null,
      data && typeof data === "object" && !Array.isArray(data) ? data : null,
    );
  }
  return data as T;
}

export interface ObjectCreate {
  label: number;
  slice?: number;
  polygons: Shape;
  source: string;
  clicks: Click[];
  clicks_used: number;
  seconds_spent: number;
  client_key: string;
}

/** A change; `clicks` only when the shape was recomputed from clicks (a plain vertex edit keeps the stored ones). */
export interface ObjectUpdate {
  version: number;
  label: number;
  polygons: Shape;
  clicks?: Click[];
  clicks_used?: number;
  seconds_spent?: number;
}

export interface ObjectApi {
  list(): Promise<ServerObject[]>;
  create(body: ObjectCreate): Promise<ServerObject>;
  update(id: number, body: ObjectUpdate): Promise<ServerObject>;
  remove(id: number, version: number): Promise<void>;
  /** Undo a saved delete: the object comes back with its id; `version` is the one it had when deleted. */
  restore(id: number, version: number): Promise<ServerObject>;
}

export function objectApi(imageId: number): ObjectApi {
  return {
    list: () => request<ServerObject[]>("GET", `/api/images/${imageId}/objects/`),
    create: (body) => request<ServerObject>("POST", `/api/images/${imageId}/objects/`, body),
    update: (id, body) => request<ServerObject>("PATCH", `/api/objects/${id}/`, body),
    remove: (id, version) => request<void>("DELETE", `/api/objects/${id}/?version=${version}`),
    restore: (id, version) => request<ServerObject>("POST", `/api/objects/${id}/restore/`, { version }),
  };
}
