/**
 * Sending the newest of a fast stream of values (a display mapping while a slider moves): each change waits
 * `delayMs` for the next one (debounce), at most one request is under way, and when it answers only the newest
 * value waiting goes next — an answer is applied only when nothing newer waits.
 */

export interface LatestHost<T, R> {
  done(result: R, value: T): void;
  failed(error: unknown, value: T): void;
}

export class LatestSender<T, R> {
  private waiting: { value: T } | null = null;
  private sending: { value: T } | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly send: (value: T) => Promise<R>,
    private readonly host: LatestHost<T, R>,
    private readonly delayMs = 150,
  ) {}

  /** A new value: sent once no newer one came for `delayMs` and the one under way answered. */
  push(value: T): void {
    this.waiting = { value };
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.run();
    }, this.delayMs);
  }

  /** The value being sent now, or waiting to be (what the page shows already). */
  get pending(): T[] {
    return [this.sending, this.waiting].flatMap((v) => (v ? [v.value] : []));
  }

  get busy(): boolean {
    return this.sending !== null || this.waiting !== null;
  }

  private async run(): Promise<void> {
    if (this.sending || !this.waiting) return;
    const current = this.waiting;
    this.waiting = null;
    this.sending = current;
    try {
      const result = await this.send(current.value);
      if (!this.waiting) this.host.done(result, current.value);
    } catch (exc) {
      if (!this.waiting) this.host.failed(exc, current.value);
    } finally {
      this.sending = null;
      if (this.waiting && !this.timer) void this.run();
    }
  }
}
