/**
 * Polygon edit operations on an object's shape. Vertices are pixel indices (the server's convention), so a
 * vertex stays within [0, width-1] × [0, height-1]. Every operation returns a new shape, never mutates.
 */

export type Vertex = [number, number];
export type Ring = Vertex[];
export interface Polygon {
  outer: Ring;
  holes: Ring[];
}
export type Shape = Polygon[];

/** Which vertex: polygon index, ring (-1 = outer, else hole index) and position in the ring. */
export interface VertexRef {
  polygon: number;
  ring: number;
  index: number;
}

export interface Bounds {
  width: number;
  height: number;
}

export const MIN_RING = 3;

export function cloneShape(shape: Shape): Shape {
  return shape.map((p) => ({ outer: p.outer.map((v) => [v[0], v[1]] as Vertex), holes: p.holes.map((h) => h.map((v) => [v[0], v[1]] as Vertex)) }));
}

export function ringOf(shape: Shape, ref: Pick<VertexRef, "polygon" | "ring">): Ring {
  const polygon = shape[ref.polygon];
  return ref.ring < 0 ? polygon.outer : polygon.holes[ref.ring];
}

function withRing(shape: Shape, ref: Pick<VertexRef, "polygon" | "ring">, ring: Ring): Shape {
  const next = cloneShape(shape);
  if (ref.ring < 0) next[ref.polygon].outer = ring;
  else next[ref.polygon].holes[ref.ring] = ring;
  return next;
}

export function clampVertex(x: number, y: number, bounds: Bounds): Vertex {
  return [Math.min(bounds.width - 1, Math.max(0, x)), Math.min(bounds.height - 1, Math.max(0, y))];
}

export function moveVertex(shape: Shape, ref: VertexRef, x: number, y: number, bounds: Bounds): Shape {
  const ring = ringOf(shape, ref).slice();
  ring[ref.index] = clampVertex(x, y, bounds);
  return withRing(shape, ref, ring);
}

/** A new vertex on the edge from `index` to `index + 1` (wrapping). */
export function insertVertex(shape: Shape, ref: VertexRef, x: number, y: number, bounds: Bounds): Shape {
  const ring = ringOf(shape, ref).slice();
  ring.splice(ref.index + 1, 0, clampVertex(x, y, bounds));
  return withRing(shape, ref, ring);
}

/** Null when the ring would keep fewer than 3 vertices (delete the ring or the object instead). */
export function removeVertex(shape: Shape, ref: VertexRef): Shape | null {
  const ring = ringOf(shape, ref);
  if (ring.length <= MIN_RING) return null;
  return withRing(
    shape,
    ref,
    ring.filter((_, i) => i !== ref.index),
  );
}

export function shapeBox(shape: Shape): { minX: number; minY: number; maxX: number; maxY: number } {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (const p of shape)
    for (const [x, y] of p.outer) {
      minX = Math.min(minX, x);
      minY = Math.min(minY, y);
      maxX = Math.max(maxX, x);
      maxY = Math.max(maxY, y);
    }
  return { minX, minY, maxX, maxY };
}

/** The offset actually allowed so that the whole shape stays inside the image. */
export function clampTranslation(shape: Shape, dx: number, dy: number, bounds: Bounds): [number, number] {
  const box = shapeBox(shape);
  const cx = Math.min(bounds.width - 1 - box.maxX, Math.max(-box.minX, dx));
  const cy = Math.min(bounds.height - 1 - box.maxY, Math.max(-box.minY, dy));
  return [cx, cy];
}

export function translate(shape: Shape, dx: number, dy: number, bounds: Bounds): Shape {
  const [cx, cy] = clampTranslation(shape, dx, dy, bounds);
  const move = (ring: Ring): Ring => ring.map(([x, y]) => [x + cx, y + cy] as Vertex);
  return shape.map((p) => ({ outer: move(p.outer), holes: p.holes.map(move) }));
}

function projectOnSegment(px: number, py: number, a: Vertex, b: Vertex): { distance: number; point: Vertex } {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const length2 = dx * dx + dy * dy;
  const t = length2 === 0 ? 0 : Math.max(0, Math.min(1, ((px - a[0]) * dx + (py - a[1]) * dy) / length2));
  const point: Vertex = [a[0] + t * dx, a[1] + t * dy];
  return { distance: Math.hypot(px - point[0], py - point[1]), point };
}

/** The edge (as the ref of its first vertex) nearest to a point over every ring, and the nearest point on it. */
export function nearestEdge(shape: Shape, x: number, y: number): { ref: VertexRef; distance: number; point: Vertex } | null {
  let best: { ref: VertexRef; distance: number; point: Vertex } | null = null;
  shape.forEach((polygon, p) => {
    [polygon.outer, ...polygon.holes].forEach((ring, r) => {
      ring.forEach((a, i) => {
        const { distance, point } = projectOnSegment(x, y, a, ring[(i + 1) % ring.length]);
        if (!best || distance < best.distance) best = { ref: { polygon: p, ring: r - 1, index: i }, distance, point };
      });
    });
  });
  return best;
}

export function vertexCount(shape: Shape): number {
  return shape.reduce((n, p) => n + p.outer.length + p.holes.reduce((m, h) => m + h.length, 0), 0);
}

export function sameShape(a: Shape, b: Shape, tolerance = 1e-6): boolean {
  const sameRing = (r: Ring, s: Ring) =>
    r.length === s.length && r.every((v, i) => Math.abs(v[0] - s[i][0]) <= tolerance && Math.abs(v[1] - s[i][1]) <= tolerance);
  return (
    a.length === b.length &&
    a.every((p, i) => sameRing(p.outer, b[i].outer) && p.holes.length === b[i].holes.length && p.holes.every((h, j) => sameRing(h, b[i].holes[j])))
  );
}

/** Outer-ring area minus holes (shoelace), in px² — for showing what changed in a conflict. */
export function shapeArea(shape: Shape): number {
  const ringArea = (ring: Ring) =>
    Math.abs(ring.reduce((s, [x0, y0], i) => {
      const [x1, y1] = ring[(i + 1) % ring.length];
      return s + x0 * y1 - x1 * y0;
    }, 0)) / 2;
  return shape.reduce((s, p) => s + ringArea(p.outer) - p.holes.reduce((h, r) => h + ringArea(r), 0), 0);
}
