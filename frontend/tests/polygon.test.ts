import { describe, expect, it } from "vitest";
import { insertVertex, moveVertex, nearestEdge, removeVertex, sameShape, shapeArea, translate, type Shape } from "../src/polygon";

const bounds = { width: 100, height: 80 };
const square: Shape = [{ outer: [[10, 10], [40, 10], [40, 40], [10, 40]], holes: [[[20, 20], [30, 20], [30, 30]]] }];

describe("polygon edits", () => {
  it("moves a vertex, clamped into the image, without touching the input", () => {
    const moved = moveVertex(square, { polygon: 0, ring: -1, index: 2 }, 150, 45, bounds);
    expect(moved[0].outer[2]).toEqual([99, 45]);
    expect(square[0].outer[2]).toEqual([40, 40]);
  });

  it("inserts a vertex after the given edge start and removes one", () => {
    const added = insertVertex(square, { polygon: 0, ring: -1, index: 0 }, 25, 8, bounds);
    expect(added[0].outer).toEqual([[10, 10], [25, 8], [40, 10], [40, 40], [10, 40]]);
    const removed = removeVertex(added, { polygon: 0, ring: -1, index: 1 });
    expect(removed && sameShape(removed, square)).toBe(true);
  });

  it("refuses to leave a ring with fewer than 3 vertices", () => {
    expect(removeVertex(square, { polygon: 0, ring: 0, index: 0 })).toBeNull();
  });

  it("edits holes as well", () => {
    const moved = moveVertex(square, { polygon: 0, ring: 0, index: 1 }, 32, 21, bounds);
    expect(moved[0].holes[0][1]).toEqual([32, 21]);
  });

  it("drags the whole polygon (holes included), stopping at the image border", () => {
    const moved = translate(square, 5, -20, bounds);
    expect(moved[0].outer[0]).toEqual([15, 0]);
    expect(moved[0].holes[0][0]).toEqual([25, 10]);
    expect(translate(square, 500, 0, bounds)[0].outer[1]).toEqual([99, 10]);
  });

  it("finds the nearest edge for double-click insertion", () => {
    expect(nearestEdge(square, 41, 25)?.ref).toEqual({ polygon: 0, ring: -1, index: 1 });
    expect(nearestEdge(square, 41, 25)?.point).toEqual([40, 25]);
    expect(nearestEdge(square, 26, 21)?.ref).toEqual({ polygon: 0, ring: 0, index: 0 });
  });

  it("computes the area minus holes", () => {
    expect(shapeArea(square)).toBeCloseTo(900 - 50);
  });
});
