/**
 * The click session of the workspace — the first file of the click path (docs/architecture.md).
 *
 * The browser owns the object's click list: every change (a click, a removed marker, undo, redo, reset) is one
 * entry of the workspace's undo History holding the whole list before and after, and sends the WHOLE list to the
 * server (`clicks {seq, clicks}`, protocol v2 in messages.ts). The server only computes: the newest mask comes
 * back and is shown; finishing turns its polygons into a LocalObject, which the saver creates over REST, and tells
 * the server to forget the session (`cancel`).
 */

import type { History } from "./history";
import type { Click, ClientMessage, MaskMessage, MaskOptions, ServerMessage } from "./messages";
import { type LocalObject, newObject } from "./objects";
import { cloneShape } from "./polygon";

/** An undo entry of the click list: the whole list before and after the change. */
export interface ClicksEntry {
  kind: "clicks";
  before: Click[];
  after: Click[];
}

export interface ClickingHost {
  send(msg: ClientMessage): boolean; // false when not connected: the session is resumed on reconnect
  markers(clicks: readonly Click[]): void;
  /** Show the newest mask (null: clear it); `pressedAt` is when the change it answers was made. */
  showMask(mask: MaskMessage | null, label: number, pressedAt?: number): void;
  finished(obj: LocalObject): void;
  flash(message: string): void;
}

interface Session {
  label: number;
  clicks: Click[]; // never mutated: replaced by each change (undo entries hold the old lists)
  placed: Set<string>; // each distinct click placed in this object: its clicks_used
  startedAt: number;
  mask: MaskMessage | null; // the newest mask of the current list
  seq: number; // of the newest sequenced request: masks answering older ones are stale
  awaiting: number | null; // that seq while its mask is still to come
  finishWhenReady: boolean;
  started: boolean; // `start` was sent on the current connection
}

const keyOf = (c: Click) => `${c.x},${c.y},${c.positive}`;

export class Clicking {
  private session: Session | null = null;
  private seq = 0;
  private readonly pressedAt = new Map<number, number>();
  private options: MaskOptions | null = null; // the server's `ready.options`, as the annotator changes them
  private label = 0;

  constructor(
    private readonly host: ClickingHost,
    private readonly history: History<{ kind: string }>,
  ) {}

  get clicks(): readonly Click[] {
    return this.session?.clicks ?? [];
  }

  get mask(): MaskMessage | null {
    return this.session?.mask ?? null;
  }

  get awaiting(): number | null {
    return this.session?.awaiting ?? null;
  }

  /** How many distinct clicks were placed in the object under way (what it saves as clicks_used). */
  get placed(): number {
    return this.session?.placed.size ?? 0;
  }

  /** The label of the next object, and of the one under way. */
  setLabel(label: number): void {
    this.label = label;
    if (this.session) this.session.label = label;
  }

  add(x: number, y: number, positive: boolean): void {
    const click = { x, y, positive };
    const session = this.session ?? this.begin();
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

  /** A (re)connection: the server's defaults are taken once; an object under way is resumed with its clicks. */
  opened(defaults: MaskOptions): void {
    this.options ??= { ...defaults };
    const session = this.session;
    if (!session) return;
    session.started = false;
    if (session.clicks.length) this.sendStart(session, this.stamp(session, true));
  }

  /** New mask options: the object under way is recomputed with them; the next `start` carries them. */
  setOptions(change: Partial<MaskOptions>): void {
    if (!this.options) return;
    this.options = { ...this.options, ...change };
    const session = this.session;
    if (!session?.started || !session.clicks.length) return;
    const seq = this.stamp(session, true);
    this.send(session, { type: "options", seq, ...change });
  }

  message(msg: ServerMessage): void {
    const session = this.session;
    if (msg.type === "error") {
      if (session && msg.seq !== undefined && msg.seq === session.awaiting) {
        session.awaiting = null;
        session.finishWhenReady = false;
      }
      if (msg.code !== "stale_seq") this.host.flash(msg.message);
    } else if (session && msg.type === "started") session.started = true;
    else if (session && msg.type === "mask" && msg.seq >= session.seq) this.show(session, msg);
  }

  /** The newest mask becomes an object (as soon as it is in); the server forgets the session. */
  finish(): void {
    const session = this.session;
    if (!session) return;
    if (session.awaiting !== null) {
      session.finishWhenReady = true;
      return;
    }
    session.finishWhenReady = false;
    const polygons = session.mask?.polygons;
    if (!polygons?.length) {
      this.host.flash("The mask is empty: click on the object first.");
      return;
    }
    const seconds = Math.round((performance.now() - session.startedAt) / 100) / 10;
    const obj = newObject(session.label, cloneShape(polygons), session.placed.size, seconds);
    this.end(session);
    this.host.finished(obj);
  }

  /** Drop the object under way; false when there is none. */
  cancel(): boolean {
    if (!this.session) return false;
    this.end(this.session);
    return true;
  }

  private begin(): Session {
    const session: Session = {
      label: this.label,
      clicks: [],
      placed: new Set(),
      startedAt: performance.now(),
      mask: null,
      seq: 0,
      awaiting: null,
      finishWhenReady: false,
      started: false,
    };
    this.session = session;
    return session;
  }

  private end(session: Session): void {
    this.session = null;
    this.history.drop((e) => e.kind === "clicks");
    if (session.started) this.host.send({ type: "cancel" }); // the server has this object: it may forget it
    this.host.showMask(null, session.label);
    this.host.markers([]);
  }

  private change(session: Session, after: Click[]): void {
    const entry: ClicksEntry = { kind: "clicks", before: session.clicks, after };
    this.history.push(entry);
    this.setList(session, after);
  }

  private setList(session: Session, clicks: Click[]): void {
    session.clicks = clicks.slice();
    this.host.markers(session.clicks);
    const seq = this.stamp(session, clicks.length > 0);
    if (!clicks.length) {
      session.mask = null; // nothing to wait for: no clicks, no mask
      this.host.showMask(null, session.label);
    }
    if (session.started) this.send(session, { type: "clicks", seq, clicks: session.clicks });
    else if (clicks.length) this.sendStart(session, seq);
  }

  /** The sequence number of the session's newest request; its time is where click → paint is measured from. */
  private stamp(session: Session, expectMask: boolean): number {
    this.seq += 1;
    session.seq = this.seq;
    session.awaiting = expectMask ? this.seq : null;
    if (expectMask) this.pressedAt.set(this.seq, performance.now());
    return this.seq;
  }

  private sendStart(session: Session, seq: number): void {
    session.started = this.host.send({ type: "start", label: session.label, ...this.options, clicks: session.clicks, seq });
  }

  private send(session: Session, msg: ClientMessage): void {
    if (!this.host.send(msg)) session.started = false; // resumed by `start` with all clicks on reconnect
  }

  private show(session: Session, msg: MaskMessage): void {
    session.mask = msg;
    session.awaiting = null;
    const pressedAt = this.pressedAt.get(msg.seq);
    for (const seq of this.pressedAt.keys()) if (seq <= msg.seq) this.pressedAt.delete(seq);
    this.host.showMask(msg, session.label, pressedAt);
    if (session.finishWhenReady) this.finish();
  }
}
