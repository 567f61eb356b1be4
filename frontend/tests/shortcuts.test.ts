import { describe, expect, it } from "vitest";
import { actionFor, DEFAULT_BINDINGS, keyName, labelIndexFor, mergeBindings, overridesOf, rebind } from "../src/shortcuts";

describe("shortcuts", () => {
  it("names keys with modifiers", () => {
    expect(keyName({ key: "z", ctrlKey: true })).toBe("ctrl+z");
    expect(keyName({ key: "Z", metaKey: true, shiftKey: true })).toBe("ctrl+shift+z");
    expect(keyName({ key: " " })).toBe("space");
    expect(keyName({ key: "?", shiftKey: true })).toBe("?");
    expect(keyName({ key: "Delete" })).toBe("delete");
  });

  it("merges the user's overrides and ignores junk", () => {
    const b = mergeBindings({ nextImage: "D", bogus: "x", undo: 3 });
    expect(b.nextImage).toBe("d");
    expect(b.undo).toBe("ctrl+z");
    expect(actionFor(b, "d")).toBe("nextImage");
    expect(actionFor(b, "f")).toBeUndefined();
  });

  it("rebinding to a taken key swaps the two actions", () => {
    const b = rebind(DEFAULT_BINDINGS, "nextImage", "s");
    expect(b.nextImage).toBe("s");
    expect(b.previousImage).toBe("f");
    expect(overridesOf(b)).toEqual({ nextImage: "s", previousImage: "f" });
  });

  it("number keys pick labels", () => {
    expect(labelIndexFor("1")).toBe(0);
    expect(labelIndexFor("9")).toBe(8);
    expect(labelIndexFor("0")).toBeUndefined();
  });
});
