/**
 * The name tags of objects someone else holds a lease on: the holder's name on their colour, at the top-left of
 * the object's outline, the same size on screen at every zoom. Clicks pass through them (the object under the
 * tag is what a click hits, and the workspace says who holds it).
 */

import Konva from "konva";
import type { Shape } from "./polygon";
import { textOn } from "./presence";

export interface Holder {
  name: string;
  colour: string;
}

/** The top-left corner of a shape's bounding box (null: no vertices). */
export function topLeft(shape: Shape): { x: number; y: number } | null {
  let x = Infinity;
  let y = Infinity;
  for (const polygon of shape) {
    for (const [px, py] of polygon.outer) {
      x = Math.min(x, px);
      y = Math.min(y, py);
    }
  }
  return Number.isFinite(x) ? { x, y } : null;
}

export function leaseTag(id: string, polygons: Shape, holder: Holder, scale: number): Konva.Label | null {
  const at = topLeft(polygons);
  if (!at) return null;
  const tag = new Konva.Label({ x: at.x, y: at.y, name: `lease-tag lease-tag-${id}`, listening: false, scale: { x: 1 / scale, y: 1 / scale } });
  tag.add(
    new Konva.Tag({ fill: holder.colour, pointerDirection: "down", pointerWidth: 8, pointerHeight: 5, cornerRadius: 3 }),
    new Konva.Text({ text: `${holder.name} is editing`, fontSize: 12, padding: 3, fill: textOn(holder.colour) }),
  );
  return tag;
}

/** The zoom changed: the tags keep their screen size. */
export function rescaleTags(group: Konva.Group, scale: number): void {
  for (const node of group.getChildren()) node.scale({ x: 1 / scale, y: 1 / scale });
}
