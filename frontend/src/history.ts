/** A bounded undo/redo stack of entries; what an entry means is up to the caller. */

export class History<T> {
  private done: T[] = [];
  private undone: T[] = [];

  constructor(private readonly limit = 200) {}

  push(entry: T): void {
    this.done.push(entry);
    if (this.done.length > this.limit) this.done.shift();
    this.undone = [];
  }

  /** The entry to revert, moved onto the redo side; undefined when there is nothing to undo. */
  undo(): T | undefined {
    const entry = this.done.pop();
    if (entry !== undefined) this.undone.push(entry);
    return entry;
  }

  redo(): T | undefined {
    const entry = this.undone.pop();
    if (entry !== undefined) this.done.push(entry);
    return entry;
  }

  /** Drop entries matching `predicate` from both sides (e.g. the clicks of an object once it is finished). */
  drop(predicate: (entry: T) => boolean): void {
    this.done = this.done.filter((e) => !predicate(e));
    this.undone = this.undone.filter((e) => !predicate(e));
  }

  get canUndo(): boolean {
    return this.done.length > 0;
  }

  get canRedo(): boolean {
    return this.undone.length > 0;
  }

  get size(): number {
    return this.done.length;
  }
}
