import { describe, expect, it } from "vitest";
import { decodeCounts, decodeRle, hexToRgb, maskToRgba } from "../src/rle";

// Vectors produced by pycocotools.mask.encode (the server's encoder).
describe("COCO RLE decoding", () => {
  it("decodes a small mask in row-major order", () => {
    const mask = decodeRle({ size: [4, 5], counts: "0141N0003" });
    const rows = [0, 1, 2, 3].map((y) => Array.from(mask.slice(y * 5, y * 5 + 5)));
    expect(rows).toEqual([
      [1, 0, 0, 0, 0],
      [0, 1, 1, 1, 0],
      [0, 1, 1, 1, 0],
      [0, 0, 0, 0, 0],
    ]);
  });

  it("handles long runs and delta-coded counts", () => {
    const mask = decodeRle({ size: [300, 400], counts: "R[m0X6T30000000000000000000000000000000000000PR_2iIYhcM" });
    expect(mask.reduce((a, b) => a + b, 0)).toBe(4001);
    expect(mask[50 * 400 + 100]).toBe(1);
    expect(mask[249 * 400 + 119]).toBe(1);
    expect(mask[250 * 400 + 119]).toBe(0);
    expect(mask[10 * 400 + 390]).toBe(1);
  });

  it("decodes an empty counts string to no runs", () => {
    expect(decodeCounts("")).toEqual([]);
  });

  it("paints the mask in a colour with alpha", () => {
    const rgba = maskToRgba(new Uint8Array([0, 1]), hexToRgb("#ff8000"), 128);
    expect(Array.from(rgba)).toEqual([0, 0, 0, 0, 255, 128, 0, 128]);
    expect(hexToRgb("nonsense")).toEqual([255, 0, 255]);
  });
});
