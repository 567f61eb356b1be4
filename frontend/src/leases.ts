/**
 * The image's object leases as this browser knows them (the server's full list, replaced on every `leases`), and
 * what this connection must send so that it holds exactly the lease it wants: the one on the saved object being
 * edited (selected or re-opened for clicks), none otherwise. No I/O here: `sync` returns the messages to send.
 */

import type { CollabClientMessage, Lease, Person } from "./collabMessages";

export class LeaseBook {
  private map = new Map<number, Lease>();
  private asked: number | null = null; // a lease asked for and not answered by a `leases` since
  private releasing = new Set<number>(); // released and not yet gone from the list

  /** The server's whole list (`ready` or `leases`): it replaces what was known. */
  replace(leases: readonly Lease[]): void {
    this.map = new Map(leases.map((l) => [l.object, l]));
    this.asked = null;
    this.releasing.clear();
  }

  /** Someone else holds `object`: who (null: nobody else; unsaved objects are never leased). */
  holder(object: number | null): Person | null {
    const lease = object === null ? undefined : this.map.get(object);
    return lease && !lease.mine ? lease.holder : null;
  }

  mine(object: number | null): boolean {
    return object !== null && this.map.get(object)?.mine === true;
  }

  get all(): Lease[] {
    return [...this.map.values()];
  }

  /** `lease_refused`: it is someone else's (shown at once, before the next `leases`). */
  refused(object: number, holder: Person | null): void {
    if (this.asked === object) this.asked = null;
    if (holder) this.map.set(object, { object, holder, mine: false });
  }

  /** A manager broke someone else's lease on `object` (the server's next `leases` confirms it). */
  broken(object: number): void {
    if (this.map.get(object)?.mine === false) this.map.delete(object);
  }

  /** `lease_lost`: not ours any more. */
  lost(object: number): void {
    if (this.map.get(object)?.mine) this.map.delete(object);
  }

  /** The messages that make this connection hold the lease on `wanted` (a saved object's id) and on nothing else. */
  sync(wanted: number | null): CollabClientMessage[] {
    const out: CollabClientMessage[] = [];
    for (const lease of this.map.values()) {
      if (!lease.mine || lease.object === wanted || this.releasing.has(lease.object)) continue;
      this.releasing.add(lease.object);
      out.push({ type: "release", object: lease.object });
    }
    if (wanted !== null && !this.mine(wanted) && !this.holder(wanted) && this.asked !== wanted) {
      this.asked = wanted;
      out.push({ type: "lease", object: wanted });
    }
    return out;
  }
}

/** What the annotator is told about an object someone else holds (`you`: this browser's user). */
export function lockText(holder: Person, you: Person | null): string {
  if (you && holder.id === you.id) return `Locked by ${holder.name} (you, in another tab or a connection not yet closed)`;
  return `Locked by ${holder.name}`;
}
