/** The canvas view: image coordinates ↔ screen coordinates, zoom around a point, fit to screen. */

export interface Point {
  x: number;
  y: number;
}

/** screen = image * scale + offset */
export interface View {
  scale: number;
  x: number;
  y: number;
}

export const MIN_SCALE = 0.005; // a 65535-px gigapixel image still fits in ~330 px
export const MAX_SCALE = 64;

export function toImage(view: View, screen: Point): Point {
  return { x: (screen.x - view.x) / view.scale, y: (screen.y - view.y) / view.scale };
}

export function toScreen(view: View, image: Point): Point {
  return { x: image.x * view.scale + view.x, y: image.y * view.scale + view.y };
}

/** Zoom by `factor` keeping the image point under `anchor` (a screen point) where it is. */
export function zoomAt(view: View, anchor: Point, factor: number): View {
  const scale = Math.min(MAX_SCALE, Math.max(MIN_SCALE, view.scale * factor));
  const under = toImage(view, anchor);
  return { scale, x: anchor.x - under.x * scale, y: anchor.y - under.y * scale };
}

export function panBy(view: View, dx: number, dy: number): View {
  return { ...view, x: view.x + dx, y: view.y + dy };
}

/** The whole image centred in the stage with a margin. */
export function fit(imageWidth: number, imageHeight: number, stageWidth: number, stageHeight: number, margin = 16): View {
  const scale = Math.max(
    MIN_SCALE,
    Math.min((stageWidth - 2 * margin) / imageWidth, (stageHeight - 2 * margin) / imageHeight),
  );
  return { scale, x: (stageWidth - imageWidth * scale) / 2, y: (stageHeight - imageHeight * scale) / 2 };
}

/** The pixel index under an image point (pixel i covers [i, i+1)), clamped into the image. */
export function pixelAt(point: Point, width: number, height: number): Point | null {
  const x = Math.floor(point.x);
  const y = Math.floor(point.y);
  if (x < 0 || y < 0 || x >= width || y >= height) return null;
  return { x, y };
}
