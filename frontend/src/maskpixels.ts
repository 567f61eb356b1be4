/**
 * The live mask as pixels of its own size. For a huge image the server segments a working copy and sends the
 * mask at that smaller size (its RLE's `size` says which); the canvas node stretches it over the image.
 */

import { decodeRle, maskToRgba, type Rle } from "./rle";

export interface MaskPixels {
  rgba: Uint8ClampedArray<ArrayBuffer>;
  width: number;
  height: number;
}

/** The mask of `rle` painted opaque in `rgb`, at the RLE's size (not necessarily the image's). */
export function maskPixels(rle: Rle, rgb: [number, number, number]): MaskPixels {
  const [height, width] = rle.size;
  return { rgba: maskToRgba(decodeRle(rle), rgb, 255), width, height };
}

/** Give `canvas` the mask's size; only when it differs, since resizing a canvas reallocates it. */
export function sizeTo(canvas: { width: number; height: number }, width: number, height: number): void {
  if (canvas.width !== width) canvas.width = width;
  if (canvas.height !== height) canvas.height = height;
}
