/**
 * Which vertices of the selected object get a drag handle at the current zoom: a handle only where it does not
 * crowd the one before it on screen (at least `spacing` screen pixels apart), so a traced outline of a hundred
 * vertices shows a few handles at the fitted view and every one once zoomed in far enough. A vertex that must stay
 * reachable (the selected one) always has its handle.
 */

export type Ring = [number, number][];

/** Indices of the ring's vertices that get a handle at `scale` (screen px per image px). */
export function handleIndices(ring: Ring, scale: number, spacing: number, keep: number | null = null): number[] {
  const n = ring.length;
  if (n === 0) return [];
  const min = spacing / Math.max(scale, 1e-9); // in image pixels
  const far = (a: [number, number], b: [number, number]) => Math.hypot(a[0] - b[0], a[1] - b[1]) >= min;
  const chosen: number[] = [0];
  let last = ring[0];
  for (let i = 1; i < n; i += 1) {
    // The ring closes: a vertex next to the first one would crowd it too.
    if (i === keep || (far(ring[i], last) && far(ring[i], ring[0]))) {
      chosen.push(i);
      last = ring[i];
    }
  }
  return chosen;
}
