import { describe, expect, it } from "vitest";
import { clampSlice, onSlice, otherSlicesText, sliceFromHash, sliceHash, sliceText } from "../src/slices";

describe("objects on the slices of a stack", () => {
  it("keeps the current slice's objects (no slice: slice 0)", () => {
    const objects = [{ id: 1, slice: 0 }, { id: 2, slice: 2 }, { id: 3 }, { id: 4, slice: 2 }];
    expect(onSlice(objects, 2).map((o) => o.id)).toEqual([2, 4]);
    expect(onSlice(objects, 0).map((o) => o.id)).toEqual([1, 3]);
    expect(onSlice(objects, 1)).toEqual([]);
  });

  it("says how many lie elsewhere", () => {
    expect(otherSlicesText(0)).toBe("");
    expect(otherSlicesText(1)).toBe("1 object on other slices");
    expect(otherSlicesText(5)).toBe("5 objects on other slices");
  });

  it("keeps a slice within the stack and counts from 1 for people", () => {
    expect(clampSlice(-1, 5)).toBe(0);
    expect(clampSlice(9, 5)).toBe(4);
    expect(clampSlice(Number.NaN, 5)).toBe(0);
    expect(sliceText(2, 10)).toBe("Slice 3 / 10");
  });

  it("reads and writes the slice in the page address", () => {
    expect(sliceFromHash(sliceHash(6), 10)).toBe(6);
    expect(sliceHash(0)).toBe("#slice=1");
    expect(sliceFromHash("#slice=99", 10)).toBe(9);
    expect(sliceFromHash("#slice=0", 10)).toBe(0);
    expect(sliceFromHash("", 10)).toBe(0);
    expect(sliceFromHash("#slice=abc", 10)).toBe(0);
  });
});
