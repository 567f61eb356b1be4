import { describe, expect, it } from "vitest";
import { TileGrid } from "../src/tiles";

const INFO = { tile_size: 256, levels: 16, url: "/api/images/7/tiles/{level}/{col}_{row}.jpg" };

describe("TileGrid (a 20000×20000 Deep Zoom pyramid)", () => {
  const grid = new TileGrid(INFO, 20000, 20000);

  it("sizes the levels as the server's pyramid: halved, rounded up", () => {
    expect(grid.levelSize(15)).toEqual({ width: 20000, height: 20000 });
    expect(grid.levelSize(14)).toEqual({ width: 10000, height: 10000 });
    expect(grid.levelSize(10)).toEqual({ width: 625, height: 625 });
    expect(grid.levelSize(0)).toEqual({ width: 1, height: 1 });
  });

  it("picks the coarsest level with a pixel per screen pixel", () => {
    expect(grid.levelFor(1)).toBe(15);
    expect(grid.levelFor(4)).toBe(15); // never finer than the full resolution
    expect(grid.levelFor(0.5)).toBe(14);
    expect(grid.levelFor(0.3)).toBe(14);
    expect(grid.levelFor(0.25)).toBe(13);
    expect(grid.levelFor(0.25, 2)).toBe(14); // a HiDPI screen needs twice the pixels
    expect(grid.levelFor(0.05)).toBe(11);
  });

  it("places tiles in image pixels, the last column and row cut at the image's edge", () => {
    const first = grid.place(15, 0, 0);
    expect(first).toMatchObject({ x: 0, y: 0, width: 256, height: 256, url: "/api/images/7/tiles/15/0_0.jpg" });
    expect(grid.place(14, 2, 1)).toMatchObject({ x: 1024, y: 512, width: 512, height: 512 });
    const last = grid.place(15, 78, 78);
    expect(last).toMatchObject({ x: 19968, y: 19968, width: 32, height: 32 });
    expect(grid.all(10)).toHaveLength(9); // 625 px: 3×3 tiles
  });

  it("asks only for the tiles the view shows", () => {
    // 1:1 at (10000, 8000) on a 1280×720 stage: 6×4 tiles at most of the full resolution
    const view = { scale: 1, x: -10000, y: -8000 };
    const tiles = grid.visible(view, 1280, 720);
    expect(new Set(tiles.map((t) => t.level))).toEqual(new Set([15]));
    expect(tiles.length).toBeLessThanOrEqual(6 * 4);
    const cols = tiles.map((t) => t.col);
    expect(Math.min(...cols)).toBe(Math.floor(10000 / 256));
    expect(Math.max(...cols)).toBe(Math.floor(11279 / 256));
    // the whole image fitted into 1280×720: the coarse level, a handful of tiles
    const fitted = grid.visible({ scale: 0.035, x: 290, y: 10 }, 1280, 720);
    expect(fitted.every((t) => t.level === 11)).toBe(true); // 700 screen px: the 1250-px level
    expect(fitted.length).toBe(25);
    // panned off the image: nothing
    expect(grid.visible({ scale: 1, x: 5000, y: 0 }, 1280, 720)).toEqual([]);
  });

  it("has a backdrop level of a few tiles", () => {
    const level = grid.overviewLevel();
    expect(Math.max(grid.levelSize(level).width, grid.levelSize(level).height)).toBeLessThanOrEqual(1024);
    expect(grid.levelSize(level + 1).width).toBeGreaterThan(1024);
    expect(grid.all(level).length).toBeLessThanOrEqual(16);
  });
});

describe("fitting the largest tiled image", () => {
  it("shows all of a 60000×60000 image on a 900×620 stage", async () => {
    const { fit } = await import("../src/view");
    const view = fit(60000, 60000, 900, 620);
    expect(60000 * view.scale).toBeLessThanOrEqual(620);
    expect(view.y).toBeGreaterThanOrEqual(0);
  });
});
