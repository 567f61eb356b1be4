import { describe, expect, it } from "vitest";
import { History } from "../src/history";

describe("undo/redo history", () => {
  it("undoes and redoes in order, and a new entry clears redo", () => {
    const h = new History<number>();
    h.push(1);
    h.push(2);
    expect(h.undo()).toBe(2);
    expect(h.canRedo).toBe(true);
    expect(h.redo()).toBe(2);
    expect(h.undo()).toBe(2);
    h.push(3);
    expect(h.canRedo).toBe(false);
    expect(h.undo()).toBe(3);
    expect(h.undo()).toBe(1);
    expect(h.undo()).toBeUndefined();
  });

  it("is bounded and can drop entries", () => {
    const h = new History<string>(2);
    ["a", "b", "c"].forEach((e) => h.push(e));
    expect(h.size).toBe(2);
    h.drop((e) => e === "c");
    expect(h.undo()).toBe("b");
    expect(h.undo()).toBeUndefined();
  });
});
