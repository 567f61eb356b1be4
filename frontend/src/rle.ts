/** COCO RLE (compressed `counts` string, column-major runs starting with background) → a row-major mask. */

export interface Rle {
  size: [number, number]; // [height, width]
  counts: string;
}

/** The run lengths encoded in a COCO compressed counts string (pycocotools `rleFrString`). */
export function decodeCounts(s: string): number[] {
  const counts: number[] = [];
  let p = 0;
  while (p < s.length) {
    let x = 0;
    let k = 0;
    let more = true;
    while (more) {
      const c = s.charCodeAt(p) - 48;
      x += (c & 0x1f) * 2 ** (5 * k); // arithmetic, not bit shifts: values may exceed 32 bits while decoding
      more = (c & 0x20) !== 0;
      p += 1;
      k += 1;
      if (!more && (c & 0x10) !== 0) x -= 2 ** (5 * k);
    }
    if (counts.length > 2) x += counts[counts.length - 2];
    counts.push(x);
  }
  return counts;
}

/** A row-major Uint8Array (1 = object) of height × width. */
export function decodeRle(rle: Rle): Uint8Array {
  const [height, width] = rle.size;
  const mask = new Uint8Array(height * width);
  let index = 0; // column-major position
  let value = 0;
  for (const run of decodeCounts(rle.counts)) {
    if (value === 1) {
      for (let i = index; i < index + run; i++) {
        const x = Math.floor(i / height);
        const y = i - x * height;
        mask[y * width + x] = 1;
      }
    }
    index += run;
    value = 1 - value;
  }
  return mask;
}

/** RGBA pixels of the mask painted in `rgb` with the given alpha (0–255); background transparent. */
export function maskToRgba(mask: Uint8Array, rgb: [number, number, number], alpha: number): Uint8ClampedArray<ArrayBuffer> {
  const out = new Uint8ClampedArray(mask.length * 4);
  for (let i = 0; i < mask.length; i++) {
    if (mask[i]) {
      const o = i * 4;
      out[o] = rgb[0];
      out[o + 1] = rgb[1];
      out[o + 2] = rgb[2];
      out[o + 3] = alpha;
    }
  }
  return out;
}

export function hexToRgb(hex: string): [number, number, number] {
  const m = /^#?([0-9a-f]{6})$/i.exec(hex.trim());
  if (!m) return [255, 0, 255];
  const n = parseInt(m[1], 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}
