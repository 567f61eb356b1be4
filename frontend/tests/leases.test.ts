import { describe, expect, it } from "vitest";
import { LeaseBook, lockText } from "../src/leases";

const ANN = { id: 7, name: "ann", colour: "#1f77b4" };
const BOB = { id: 8, name: "bob", colour: "#ff7f0e" };

describe("the lease book", () => {
  it("tells whose each lease is", () => {
    const book = new LeaseBook();
    book.replace([
      { object: 1, holder: ANN, mine: true },
      { object: 2, holder: BOB, mine: false },
    ]);
    expect(book.mine(1)).toBe(true);
    expect(book.holder(1)).toBeNull();
    expect(book.holder(2)).toEqual(BOB);
    expect(book.mine(2)).toBe(false);
    expect(book.holder(3)).toBeNull();
    expect(book.holder(null)).toBeNull();
    book.replace([]);
    expect(book.holder(2)).toBeNull();
  });

  it("asks once for the wanted lease and releases every other of its own", () => {
    const book = new LeaseBook();
    book.replace([{ object: 1, holder: ANN, mine: true }]);
    expect(book.sync(1)).toEqual([]); // held already
    expect(book.sync(5)).toEqual([{ type: "release", object: 1 }, { type: "lease", object: 5 }]);
    expect(book.sync(5)).toEqual([]); // asked, not answered yet: not again
    book.replace([{ object: 5, holder: ANN, mine: true }]);
    expect(book.sync(5)).toEqual([]);
    expect(book.sync(null)).toEqual([{ type: "release", object: 5 }]);
    expect(book.sync(null)).toEqual([]);
  });

  it("does not ask for an object someone else holds, and shows a refusal at once", () => {
    const book = new LeaseBook();
    book.replace([{ object: 2, holder: BOB, mine: false }]);
    expect(book.sync(2)).toEqual([]);
    expect(book.sync(3)).toEqual([{ type: "lease", object: 3 }]);
    book.refused(3, BOB);
    expect(book.holder(3)).toEqual(BOB);
    expect(book.sync(3)).toEqual([]);
  });

  it("asks again after the next list when the answer did not grant it", () => {
    const book = new LeaseBook();
    expect(book.sync(4)).toEqual([{ type: "lease", object: 4 }]);
    book.replace([]);
    expect(book.sync(4)).toEqual([{ type: "lease", object: 4 }]);
  });

  it("forgets a lost lease", () => {
    const book = new LeaseBook();
    book.replace([{ object: 1, holder: ANN, mine: true }]);
    book.lost(1);
    expect(book.mine(1)).toBe(false);
    expect(book.all).toEqual([]);
  });

  it("says who holds it", () => {
    expect(lockText(BOB, ANN)).toBe("Locked by bob");
    expect(lockText(ANN, ANN)).toMatch(/^Locked by ann \(you/);
  });
});

describe("a manager taking an object over", () => {
  it("forgets the other's lease so that the object can be asked for at once", () => {
    const book = new LeaseBook();
    book.replace([{ object: 7, holder: { id: 2, name: "bob", colour: "#123456" }, mine: false }]);
    expect(book.holder(7)?.name).toBe("bob");
    expect(book.sync(7)).toEqual([]); // held by bob: not asked for
    book.broken(7);
    expect(book.holder(7)).toBeNull();
    expect(book.sync(7)).toEqual([{ type: "lease", object: 7 }]);
  });

  it("never drops a lease of this connection", () => {
    const book = new LeaseBook();
    book.replace([{ object: 7, holder: { id: 1, name: "me", colour: "#123456" }, mine: true }]);
    book.broken(7);
    expect(book.mine(7)).toBe(true);
  });
});
