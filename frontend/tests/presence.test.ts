import { describe, expect, it } from "vitest";
import { initials, textOn } from "../src/presence";

describe("presence badges", () => {
  it("makes initials of a user name", () => {
    expect(initials("ann")).toBe("AN");
    expect(initials("Ann Lee")).toBe("AL");
    expect(initials("ann.lee")).toBe("AL");
    expect(initials("x")).toBe("X");
    expect(initials("")).toBe("?");
  });

  it("writes in black on light colours and white on dark ones", () => {
    expect(textOn("#ffff00")).toBe("#000000");
    expect(textOn("#1f1f7f")).toBe("#ffffff");
  });
});
