/**
 * A tiled image (above the server's TILED_MIN_PIXELS): the tiles of its pyramid that the view shows, at the level
 * matching the zoom, so the browser never decodes the whole image. Pure geometry here; canvas.ts draws them.
 *
 * The pyramid is Deep Zoom: level `levels - 1` is the full resolution, each level below halves the sides (rounding
 * up), level 0 is 1×1; tiles are `tileSize` square, the last column and row smaller. Everything is placed in image
 * coordinates, like every other shape on the stage.
 */

import type { View } from "./view";

export interface TilesInfo {
  tile_size: number;
  levels: number;
  url: string; // "/api/images/7/tiles/{level}/{col}_{row}.jpg"
}

export interface TilePlace {
  key: string;
  level: number;
  col: number;
  row: number;
  url: string;
  /** The tile's rectangle in image pixels. */
  x: number;
  y: number;
  width: number;
  height: number;
}

export class TileGrid {
  readonly maxLevel: number;

  constructor(
    readonly info: TilesInfo,
    readonly width: number,
    readonly height: number,
  ) {
    this.maxLevel = info.levels - 1;
  }

  /** How many image pixels one pixel of `level` covers. */
  factor(level: number): number {
    return 2 ** (this.maxLevel - level);
  }

  levelSize(level: number): { width: number; height: number } {
    const f = this.factor(level);
    return { width: Math.ceil(this.width / f), height: Math.ceil(this.height / f) };
  }

  /** The coarsest level with at least one pixel per screen (device) pixel at `scale` (screen px per image px). */
  levelFor(scale: number, devicePixelRatio = 1): number {
    const wanted = scale * devicePixelRatio; // level pixels per image pixel needed
    for (let level = 0; level <= this.maxLevel; level++) {
      if (1 / this.factor(level) >= wanted) return level;
    }
    return this.maxLevel;
  }

  /** The coarsest level whose longer side is at most `longest` pixels: a backdrop of a few tiles. */
  overviewLevel(longest = 1024): number {
    let level = 0;
    while (level < this.maxLevel) {
      const next = this.levelSize(level + 1);
      if (Math.max(next.width, next.height) > longest) break;
      level++;
    }
    return level;
  }

  place(level: number, col: number, row: number): TilePlace {
    const f = this.factor(level);
    const size = this.info.tile_size;
    const x = col * size * f;
    const y = row * size * f;
    return {
      key: `${level}/${col}_${row}`,
      level,
      col,
      row,
      url: this.info.url.replace("{level}", String(level)).replace("{col}", String(col)).replace("{row}", String(row)),
      x,
      y,
      width: Math.min(this.width, (col + 1) * size * f) - x,
      height: Math.min(this.height, (row + 1) * size * f) - y,
    };
  }

  /** Every tile of `level`. */
  all(level: number): TilePlace[] {
    return this.covering(level, 0, 0, this.width, this.height);
  }

  /** The tiles of `level` that meet the image rectangle [left, right) × [top, bottom). */
  covering(level: number, left: number, top: number, right: number, bottom: number): TilePlace[] {
    const span = this.info.tile_size * this.factor(level);
    const { width, height } = this.levelSize(level);
    const cols = Math.ceil(width / this.info.tile_size);
    const rows = Math.ceil(height / this.info.tile_size);
    const c0 = Math.max(0, Math.floor(left / span));
    const c1 = Math.min(cols - 1, Math.floor((right - 1e-9) / span));
    const r0 = Math.max(0, Math.floor(top / span));
    const r1 = Math.min(rows - 1, Math.floor((bottom - 1e-9) / span));
    const out: TilePlace[] = [];
    for (let row = r0; row <= r1; row++) for (let col = c0; col <= c1; col++) out.push(this.place(level, col, row));
    return out;
  }

  /** The tiles the view shows on a `stageWidth`×`stageHeight` stage, at the level matching its zoom. */
  visible(view: View, stageWidth: number, stageHeight: number, devicePixelRatio = 1): TilePlace[] {
    const level = this.levelFor(view.scale, devicePixelRatio);
    const left = -view.x / view.scale;
    const top = -view.y / view.scale;
    const right = (stageWidth - view.x) / view.scale;
    const bottom = (stageHeight - view.y) / view.scale;
    if (right <= 0 || bottom <= 0 || left >= this.width || top >= this.height) return [];
    return this.covering(level, left, top, right, bottom);
  }
}
