/**
 * The click session of the workspace — the first file of the click path (docs/architecture.md).
 *
 * The browser owns the object's click list: every change (a click, a removed marker, undo, redo, reset) is one
 * entry of the workspace's undo History holding the whole list before and after, and sends the WHOLE list to the
 * server (`clicks {seq, clicks}`, protocol v2 in messages.ts). The server only computes: the newest mask comes
 * back and is shown; finishing hands its polygons and clicks to the workspace (a new object, or the re-opened
 * object it reshapes), and tells the server to forget the session (`cancel`).
 *
 * What the annotator is told: whether the newest change is being computed, or cannot be computed now (the socket
 * is down: it is sent when the connection is back; the model is busy or warming up: it is sent again after the
 * server's `retry_after_s`, backing off) — `Pending`, reported with the markers.
 */

import type { History } from "./history";
import type { BusyMessage, Click, ClientMessage, MaskMessage, MaskOptions, ServerMessage } from "./messages";
import { cloneShape, type Shape } from "./polygon";

/** An undo entry of the click list: the whole list before and after the change. */
export interface ClicksEntry {
  kind: "clicks";
  before: Click[];
  after: Click[];
}

/**
 * The newest change: answered ("idle"), sent and being computed, not sent (no connection: sent once back), or
 * answered `busy` ("waiting": sent again after the server's retry hint).
 */
export type Pending = "idle" | "computing" | "unsent" | "waiting";

const MAX_RETRY_S = 10;
const RETRY_JITTER = 0.25; // of the delay, at random: many clients told "busy" at once do not come back at once

/** A finished session: a new object (`target` null) or the new shape of the re-opened object `target`. */
export interface Finished {
  target: string | null;
  slice: number; // the slice of a stack the object lies on
  label: number;
  polygons: Shape;
  clicks: Click[];
  placed: number; // distinct clicks placed in this session
  seconds: number;
}

/** What a session re-opens: a finished object with the clicks its shape was computed from. */
export interface Reopened {
  localId: string;
  slice?: number;
  label: number;
  clicks: Click[];
}

export interface ClickingHost {
  send(msg: ClientMessage): boolean; // false when not connected: the session is resumed on reconnect
  /** The markers of the clicks and whether the newest change is computing or cannot be computed now. */
  markers(clicks: readonly Click[], pending: Pending): void;
  /** Show the newest mask (null: clear it); `pressedAt` is when the change it answers was made. */
  showMask(mask: MaskMessage | null, label: number, pressedAt?: number): void;
  finished(result: Finished): void;
  flash(message: string): void;
}

interface Session {
  target: string | null; // the re-opened object's localId
  slice: number; // the slice of a stack the object lies on (the model segments that slice as shown)
  label: number;
  clicks: Click[]; // never mutated: replaced by each change (undo entries hold the old lists)
  placed: Set<string>; // each distinct click placed in this session: its clicks_used
  startedAt: number;
  mask: MaskMessage | null; // the newest mask of the current list
  seq: number; // of the newest sequenced request: masks answering older ones are stale
  awaiting: number | null; // that seq while its mask is still to come
  delivered: boolean; // the awaited request reached an open socket
  optionsWaiting: boolean; // options changed while a mask was awaited: sent (the newest) once it is in
  finishWhenReady: boolean;
  started: boolean; // `start` was sent on the current connection
  waiting: string; // why the awaited request was answered `busy` (empty: it was not)
  retry: ReturnType<typeof setTimeout> | null; // sends it again
  backoffS: number; // the last retry's delay: consecutive `busy` answers wait longer
}

const keyOf = (c: Click) => `${c.x},${c.y},${c.positive}`;

export class Clicking {
  private session: Session | null = null;
  private seq = 0;
  private readonly pressedAt = new Map<number, number>();
  private options: MaskOptions | null = null; // the server's `ready.options`, as the annotator changes them
  private label = 0;
  private slice = 0;

  constructor(
    private readonly host: ClickingHost,
    private readonly history: History<{ kind: string }>,
  ) {}

  /** An object is under way (a new one, or a re-opened one), with or without clicks yet. */
  get active(): boolean {
    return this.session !== null;
  }

  /** The localId of the re-opened object under way, if any. */
  get target(): string | null {
    return this.session?.target ?? null;
  }

  get clicks(): readonly Click[] {
    return this.session?.clicks ?? [];
  }

  get mask(): MaskMessage | null {
    return this.session?.mask ?? null;
  }

  get awaiting(): number | null {
    return this.session?.awaiting ?? null;
  }

  get pending(): Pending {
    const session = this.session;
    if (!session || session.awaiting === null) return "idle";
    if (session.waiting) return "waiting";
    return session.delivered ? "computing" : "unsent";
  }

  /** Why the newest change waits (the server's `busy`), for the status line; empty when it does not. */
  get waitingText(): string {
    return this.session?.waiting ?? "";
  }

  /** How many distinct clicks were placed in the object under way (what it saves as clicks_used). */
  get placed(): number {
    return this.session?.placed.size ?? 0;
  }

  get currentOptions(): MaskOptions | null {
    return this.options;
  }

  /** The slice the next object lies on (the one under way keeps its own). */
  setSlice(slice: number): void {
    this.slice = slice;
  }

  /** The slice of the object under way (null: none). */
  get sessionSlice(): number | null {
    return this.session?.slice ?? null;
  }

  /**
   * The image is shown differently now (another window, stretch or bands): the object under way is computed
   * again from its clicks on the new rendering — what the annotator sees is what the model segments.
   */
  renderingChanged(): void {
    const session = this.session;
    if (!session || !session.clicks.length || !session.started) return;
    session.started = false;
    this.sendStart(session, this.stamp(session, true));
    this.report(session);
  }

  /** The label of the next object, and of the one under way. */
  setLabel(label: number): void {
    this.label = label;
    if (this.session) this.session.label = label;
  }

  add(x: number, y: number, positive: boolean): void {
    const click = { x, y, positive };
    const session = this.session ?? this.begin(null, this.label, [], this.slice);
    session.placed.add(keyOf(click));
    this.change(session, [...session.clicks, click]);
  }

  /** A click on a marker removes that click. */
  remove(index: number): void {
    const session = this.session;
    if (session) this.change(session, session.clicks.filter((_, i) => i !== index));
  }

  /** Undo/redo of a click entry: the list as it was (no new entry). */
  restore(clicks: Click[]): void {
    if (this.session) this.setList(this.session, clicks);
  }

  /** Add clicks to a finished object: its stored clicks start the session (their mask is recomputed). */
  reopen(obj: Reopened): boolean {
    if (this.session) return false;
    const session = this.begin(obj.localId, obj.label, obj.clicks.slice(), obj.slice ?? 0);
    this.setList(session, session.clicks);
    return true;
  }

  /** A (re)connection: the server's defaults are taken once; an object under way is resumed with its clicks. */
  opened(defaults: MaskOptions): void {
    this.options ??= { ...defaults };
    const session = this.session;
    if (!session) return;
    session.started = false;
    if (session.clicks.length) this.sendStart(session, this.stamp(session, true));
    this.report(session);
  }

  /** The connection is gone: what is awaited cannot come; the object is resumed when it is back. */
  closed(): void {
    const session = this.session;
    if (!session) return;
    session.started = false;
    session.delivered = false;
    this.report(session);
  }

  /**
   * New mask options: the object under way is recomputed with them, no forward pass needed. While a mask is
   * awaited only the newest options wait (a slider dragged sends one request per answer, not one per step);
   * the next `start` carries them.
   */
  setOptions(change: Partial<MaskOptions>): void {
    const options = this.options;
    if (!options || (Object.keys(change) as (keyof MaskOptions)[]).every((k) => change[k] === options[k])) return;
    this.options = { ...options, ...change };
    const session = this.session;
    if (!session?.started || !session.clicks.length) return;
    if (session.awaiting !== null) {
      session.optionsWaiting = true;
      return;
    }
    this.sendOptions(session);
  }

  message(msg: ServerMessage): void {
    const session = this.session;
    if (msg.type === "error") {
      if (session && msg.seq !== undefined && msg.seq === session.awaiting) {
        session.awaiting = null;
        session.finishWhenReady = false;
        this.answered(session);
      }
      if (msg.code !== "stale_seq") this.host.flash(msg.message);
    } else if (session && msg.type === "started") session.started = true;
    else if (session && msg.type === "mask" && msg.seq >= session.seq) this.show(session, msg);
    else if (session && msg.type === "busy" && msg.seq === session.awaiting) this.busy(session, msg);
  }

  /**
   * The newest mask becomes an object (as soon as it is in); the server forgets the session. "waiting": it is
   * finished when the awaited mask comes; "empty": nothing to finish yet (the session stays); "none": no session.
   */
  finish(): "finished" | "waiting" | "empty" | "none" {
    const session = this.session;
    if (!session) return "none";
    if (session.awaiting !== null) {
      session.finishWhenReady = true;
      return "waiting";
    }
    session.finishWhenReady = false;
    const polygons = session.mask?.polygons;
    if (!polygons?.length) {
      this.host.flash(session.clicks.length ? "The mask is empty: click on the object first." : "No clicks yet: click on the object first (Escape drops it).");
      return "empty";
    }
    const result: Finished = {
      target: session.target,
      slice: session.slice,
      label: session.label,
      polygons: cloneShape(polygons),
      clicks: session.clicks.slice(),
      placed: session.placed.size,
      seconds: Math.round((performance.now() - session.startedAt) / 100) / 10,
    };
    this.end(session);
    this.host.finished(result);
    return "finished";
  }

  /** Drop the object under way (a re-opened object keeps its shape); false when there is none. */
  cancel(): boolean {
    if (!this.session) return false;
    this.end(this.session);
    return true;
  }

  private begin(target: string | null, label: number, clicks: Click[], slice: number): Session {
    const session: Session = {
      target,
      slice,
      label,
      clicks,
      placed: new Set(),
      startedAt: performance.now(),
      mask: null,
      seq: 0,
      awaiting: null,
      delivered: false,
      optionsWaiting: false,
      finishWhenReady: false,
      started: false,
      waiting: "",
      retry: null,
      backoffS: 0,
    };
    this.session = session;
    return session;
  }

  private end(session: Session): void {
    this.stopRetry(session);
    this.session = null;
    this.history.drop((e) => e.kind === "clicks");
    if (session.started) this.host.send({ type: "cancel" }); // the server has this object: it may forget it
    this.host.showMask(null, session.label);
    this.host.markers([], "idle");
  }

  private change(session: Session, after: Click[]): void {
    const entry: ClicksEntry = { kind: "clicks", before: session.clicks, after };
    this.history.push(entry);
    this.setList(session, after);
  }

  private setList(session: Session, clicks: Click[]): void {
    this.stopRetry(session);
    session.clicks = clicks.slice();
    const seq = this.stamp(session, clicks.length > 0);
    if (!clicks.length) {
      session.mask = null; // nothing to wait for: no clicks, no mask
      this.host.showMask(null, session.label);
    }
    if (session.started) this.send(session, { type: "clicks", seq, clicks: session.clicks });
    else if (clicks.length) this.sendStart(session, seq);
    this.report(session);
  }

  /** The sequence number of the session's newest request; its time is where click → paint is measured from. */
  private stamp(session: Session, expectMask: boolean): number {
    this.seq += 1;
    session.seq = this.seq;
    session.awaiting = expectMask ? this.seq : null;
    session.delivered = false;
    if (expectMask) this.pressedAt.set(this.seq, performance.now());
    return this.seq;
  }

  private sendStart(session: Session, seq: number): void {
    session.optionsWaiting = false; // `start` carries the newest options
    const slice = session.slice ? { slice: session.slice } : {}; // slice 0 is the default (and all a 2-D image has)
    session.started = this.host.send({ type: "start", label: session.label, ...slice, ...this.options, clicks: session.clicks, seq });
    session.delivered = session.started;
  }

  private sendOptions(session: Session): void {
    session.optionsWaiting = false;
    const seq = this.stamp(session, true);
    this.send(session, { type: "options", seq, ...this.options });
    this.report(session);
  }

  private send(session: Session, msg: ClientMessage): void {
    session.delivered = this.host.send(msg);
    if (!session.delivered) session.started = false; // resumed by `start` with all clicks on reconnect
  }

  /** The server could not compute the awaited request now: send the list again after its hint (backing off). */
  private busy(session: Session, msg: BusyMessage): void {
    this.stopRetry(session);
    const delayS = Math.min(MAX_RETRY_S, Math.max(msg.retry_after_s, session.backoffS * 1.5));
    session.backoffS = delayS;
    const ms = delayS * 1000 * (1 + Math.random() * RETRY_JITTER);
    session.waiting =
      msg.reason === "warming_up"
        ? "Model warming up — your click is computed as soon as it is ready"
        : msg.reason === "no_workers"
          ? "No inference worker is ready — retrying"
          : `The model is busy — retrying in ${Math.max(1, Math.round(ms / 1000))} s`;
    session.retry = setTimeout(() => {
      session.retry = null;
      if (this.session === session && session.clicks.length) this.setList(session, session.clicks);
    }, ms);
    this.report(session);
  }

  private stopRetry(session: Session): void {
    if (session.retry !== null) clearTimeout(session.retry);
    session.retry = null;
    session.waiting = "";
  }

  private show(session: Session, msg: MaskMessage): void {
    session.mask = msg;
    session.awaiting = null;
    session.backoffS = 0;
    const pressedAt = this.pressedAt.get(msg.seq);
    for (const seq of this.pressedAt.keys()) if (seq <= msg.seq) this.pressedAt.delete(seq);
    this.host.showMask(msg, session.label, pressedAt);
    this.answered(session);
  }

  /** The awaited answer is in (a mask or an error): waiting options go now, or a waiting finish. */
  private answered(session: Session): void {
    if (session.optionsWaiting && session.started && session.clicks.length) return this.sendOptions(session);
    this.report(session);
    if (session.finishWhenReady) this.finish();
  }

  private report(session: Session): void {
    if (this.session === session) this.host.markers(session.clicks, this.pending);
  }
}
