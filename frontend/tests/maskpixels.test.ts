import { describe, expect, it } from "vitest";
import { maskPixels, sizeTo } from "../src/maskpixels";

// A 3×4 mask (rows × columns) from pycocotools.mask.encode, as the server sends a working-size mask.
const SMALL = { size: [3, 4] as [number, number], counts: "322O10" };

describe("a mask smaller than the image", () => {
  it("is painted at its own size, whatever the image's", () => {
    const mask = maskPixels(SMALL, [255, 128, 0]);
    expect([mask.width, mask.height]).toEqual([4, 3]);
    expect(mask.rgba.length).toBe(4 * 3 * 4);
    const opaque = (x: number, y: number) => mask.rgba[(y * mask.width + x) * 4 + 3] === 255;
    const painted = [0, 1, 2].map((y) => [0, 1, 2, 3].map((x) => Number(opaque(x, y))));
    expect(painted).toEqual([
      [0, 1, 0, 0],
      [0, 1, 1, 0],
      [0, 0, 0, 1],
    ]);
    expect(Array.from(mask.rgba.slice(4, 8))).toEqual([255, 128, 0, 255]);
  });

  it("resizes the drawing surface to the mask only when its size changes", () => {
    const surface = { width: 1000, height: 800, resized: 0 };
    const tracked = {
      get width() { return surface.width; },
      set width(v: number) { surface.width = v; surface.resized += 1; },
      get height() { return surface.height; },
      set height(v: number) { surface.height = v; surface.resized += 1; },
    };
    sizeTo(tracked, 4, 3);
    expect([surface.width, surface.height, surface.resized]).toEqual([4, 3, 2]);
    sizeTo(tracked, 4, 3); // the next mask of the same size keeps the canvas (resizing would reallocate it)
    expect(surface.resized).toBe(2);
  });
});
