import { describe, expect, it } from "vitest";
import { fit, MAX_SCALE, panBy, pixelAt, toImage, toScreen, zoomAt } from "../src/view";

describe("view transforms", () => {
  it("round-trips image and screen coordinates", () => {
    const view = { scale: 2.5, x: 30, y: -12 };
    const p = toImage(view, toScreen(view, { x: 17, y: 4 }));
    expect(p.x).toBeCloseTo(17);
    expect(p.y).toBeCloseTo(4);
  });

  it("zooms around the cursor: the point under it stays put", () => {
    const view = { scale: 1, x: 10, y: 20 };
    const anchor = { x: 200, y: 150 };
    const before = toImage(view, anchor);
    const zoomed = zoomAt(view, anchor, 1.5);
    expect(zoomed.scale).toBe(1.5);
    const after = toImage(zoomed, anchor);
    expect(after.x).toBeCloseTo(before.x);
    expect(after.y).toBeCloseTo(before.y);
    expect(zoomAt({ scale: MAX_SCALE, x: 0, y: 0 }, anchor, 2).scale).toBe(MAX_SCALE);
  });

  it("fits the image centred with a margin", () => {
    const view = fit(1000, 500, 800, 600, 0);
    expect(view.scale).toBeCloseTo(0.8);
    expect(view.x).toBeCloseTo(0);
    expect(view.y).toBeCloseTo(100);
  });

  it("pans and finds the pixel under a point", () => {
    expect(panBy({ scale: 1, x: 0, y: 0 }, 5, -3)).toEqual({ scale: 1, x: 5, y: -3 });
    expect(pixelAt({ x: 3.7, y: 0.2 }, 10, 10)).toEqual({ x: 3, y: 0 });
    expect(pixelAt({ x: 10, y: 1 }, 10, 10)).toBeNull();
    expect(pixelAt({ x: -0.1, y: 1 }, 10, 10)).toBeNull();
  });
});
