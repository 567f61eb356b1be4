/** Stacks (volumes, DICOM series, multi-frame files): objects lie on a slice and only the current slice's are shown. */

/** The objects lying on `slice` (an object without a slice lies on slice 0). */
export function onSlice<T extends { slice?: number }>(objects: T[], slice: number): T[] {
  return objects.filter((o) => (o.slice ?? 0) === slice);
}

/** "2 objects on other slices" (empty when there are none). */
export function otherSlicesText(count: number): string {
  if (count <= 0) return "";
  return `${count} object${count === 1 ? "" : "s"} on other slices`;
}

/** `index` kept within 0 … count-1. */
export function clampSlice(index: number, count: number): number {
  if (!Number.isFinite(index)) return 0;
  return Math.max(0, Math.min(Math.max(0, count - 1), Math.round(index)));
}

/** "Slice 3 / 10" for index 2 of 10 (people count from 1). */
export function sliceText(index: number, count: number): string {
  return `Slice ${index + 1} / ${count}`;
}

/** The slice a page address names (`#slice=3` is index 2), kept within the stack; 0 when it names none. */
export function sliceFromHash(hash: string, count: number): number {
  const match = /(?:^#|&)slice=(\d{1,9})(?:&|$)/.exec(hash);
  return match ? clampSlice(Number(match[1]) - 1, count) : 0;
}

export function sliceHash(index: number): string {
  return `#slice=${index + 1}`;
}
