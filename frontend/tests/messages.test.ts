import { describe, expect, it } from "vitest";
import { parseServerMessage } from "../src/messages";

const frame = (msg: unknown) => JSON.stringify(msg);
const OPTIONS = { threshold: 0.5, largest_component: true, tolerance: 1 };

describe("server messages", () => {
  it("types each message of protocol v2", () => {
    const ready = parseServerMessage(frame({ type: "ready", image: { id: 1, width: 4, height: 3 }, model: "m", models: ["m"], options: OPTIONS }));
    expect(ready?.type === "ready" && ready.options).toEqual(OPTIONS);
    const mask = parseServerMessage(frame({ type: "mask", seq: 3, clicks: 1, steps: 1, rebuilt: false, rle: { size: [3, 4], counts: "0" }, bbox: [0, 0, 1, 1], area: 1, polygons: [] }));
    expect(mask?.type === "mask" && mask.latency).toEqual({}); // filled in when absent
    for (const msg of [{ type: "started", session: "s", model: "m", label: 1 }, { type: "superseded", seq: 2 }, { type: "cancelled", session: "s" }, { type: "pong", time: 1 }]) {
      expect(parseServerMessage(frame(msg))).toEqual(msg);
    }
    expect(parseServerMessage(frame({ type: "error", code: "forbidden" }))).toEqual({ type: "error", code: "forbidden", message: "forbidden" });
  });

  it("drops what is not a usable message", () => {
    for (const data of [
      "not json",
      "[1, 2]",
      frame({ seq: 1 }),
      frame({ type: "saved", object: {} }), // protocol v1
      frame({ type: "toString" }),
      frame({ type: "mask", seq: "1", area: 1, polygons: [], rle: { size: [1, 1], counts: "" } }),
      frame({ type: "ready", image: { id: 1, width: 4, height: 3 }, models: [] }), // no options
      frame({ type: "superseded" }),
      frame({ type: "error", code: "x", seq: "2" }),
    ]) {
      expect(parseServerMessage(data)).toBeNull();
    }
  });
});
