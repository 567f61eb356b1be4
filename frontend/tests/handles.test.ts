import { describe, expect, it } from "vitest";
import { handleIndices, type Ring } from "../src/handles";

/** A traced circle: `n` vertices on radius `r` (what a finished mask's outline looks like). */
const circle = (n: number, r: number): Ring =>
  Array.from({ length: n }, (_, i) => [100 + r * Math.cos((2 * Math.PI * i) / n), 100 + r * Math.sin((2 * Math.PI * i) / n)] as [number, number]);

describe("vertex handles", () => {
  it("are thinned out while they would crowd each other, and all drawn once zoomed in", () => {
    const ring = circle(100, 40); // ~2.5 px between vertices
    const fitted = handleIndices(ring, 1, 15);
    expect(fitted.length).toBeGreaterThan(8);
    expect(fitted.length).toBeLessThan(20);
    expect(handleIndices(ring, 8, 15)).toHaveLength(100);
  });

  it("never leaves two drawn handles closer than the spacing on screen", () => {
    const ring = circle(90, 30);
    const scale = 1.5;
    const chosen = handleIndices(ring, scale, 15).map((i) => ring[i]);
    for (let i = 0; i < chosen.length; i += 1) {
      const [a, b] = [chosen[i], chosen[(i + 1) % chosen.length]];
      expect(Math.hypot(a[0] - b[0], a[1] - b[1]) * scale).toBeGreaterThanOrEqual(15 - 1e-9);
    }
  });

  it("always shows the first vertex and the selected one", () => {
    const ring = circle(100, 40);
    expect(handleIndices(ring, 1, 15)[0]).toBe(0);
    expect(handleIndices(ring, 1, 15, 51)).toContain(51);
    expect(handleIndices([], 1, 15)).toEqual([]);
    expect(handleIndices([[0, 0], [100, 0], [50, 80]], 1, 15)).toEqual([0, 1, 2]);
  });
});
