import { describe, expect, it } from "vitest";
import { describeDisplay, displayKey, numberText, presetOf, sliceUrl, windowRange, withPreset } from "../src/displayMapping";

const CT_PRESETS = [
  { name: "File window 1", center: 40, width: 400 },
  { name: "Lung", center: -600, width: 1500 },
  { name: "Bone", center: 400, width: 1800 },
];

describe("the display mapping as the status line says it", () => {
  it("names a window by its preset when it is one", () => {
    expect(describeDisplay({ mode: "window", center: -600, width: 1500, bands: [0] }, CT_PRESETS)).toBe("Lung: window L -600 W 1500");
    expect(describeDisplay({ mode: "window", center: 41.5, width: 400, bands: [0] }, CT_PRESETS)).toBe("Window L 41.5 W 400");
    expect(presetOf({ mode: "window", center: 400, width: 1800 }, CT_PRESETS)?.name).toBe("Bone");
    expect(presetOf({ mode: "percentile", low: 2, high: 98 }, CT_PRESETS)).toBeUndefined();
  });

  it("says a stretch, the bands (counted from 1) of a multi-band image, and inversion", () => {
    expect(describeDisplay({ mode: "percentile", low: 2, high: 98, bands: [0] })).toBe("Stretch 2–98 %");
    expect(describeDisplay({ mode: "percentile", low: 2, high: 98, bands: [3, 2, 1] }, [], 4)).toBe("Stretch 2–98 % · bands 4-3-2");
    expect(describeDisplay({ mode: "window", center: 0.5, width: 0.25, bands: [1], invert: true }, [], 2)).toBe("Window L 0.5 W 0.25 · band 2 · inverted");
  });

  it("writes numbers short", () => {
    expect(numberText(40)).toBe("40");
    expect(numberText(0.123456)).toBe("0.123");
    expect(numberText(1234.56789)).toBe("1234.57");
  });

  it("a preset keeps the bands and the inversion", () => {
    expect(withPreset({ mode: "percentile", low: 1, high: 99, bands: [0], invert: true }, CT_PRESETS[1])).toEqual({
      mode: "window", center: -600, width: 1500, bands: [0], invert: true,
    });
  });

  it("recognises the same mapping whatever the key order", () => {
    const a = { mode: "window" as const, center: 40, width: 400, bands: [0], invert: false };
    const b = { invert: false, bands: [0], width: 400, center: 40, mode: "window" as const };
    expect(displayKey(a)).toBe(displayKey(b));
    expect(displayKey(a)).not.toBe(displayKey({ ...a, center: 41 }));
    expect(displayKey(null)).toBe("");
  });
});

describe("the range the window sliders cover", () => {
  const base = { presets: [], display: { mode: "percentile" as const, low: 2, high: 98 }, meta: {} };

  it("is CT's Hounsfield scale for CT, widened to the presets", () => {
    expect(windowRange({ ...base, sampleType: "float32", meta: { Modality: "CT" }, presets: CT_PRESETS })).toEqual({ min: -1350, max: 3071 });
  });

  it("is the sample type's range for integers, the server's value_range when given", () => {
    expect(windowRange({ ...base, sampleType: "uint16" })).toEqual({ min: 0, max: 65535 });
    expect(windowRange({ ...base, sampleType: "float32", meta: { value_range: [-5, 12] } })).toEqual({ min: -5, max: 12 });
  });

  it("is around the current window for floats without presets, never empty", () => {
    expect(windowRange({ ...base, sampleType: "float32", display: { mode: "window", center: 0.5, width: 1 } })).toEqual({ min: 0, max: 1 });
    expect(windowRange({ ...base, sampleType: "float64" })).toEqual({ min: 0, max: 1 });
  });
});

describe("slice URLs", () => {
  it("adds the slice to the rendering's URL (slice 0 is the URL itself)", () => {
    expect(sliceUrl("/api/images/3/file?v=abc", 0)).toBe("/api/images/3/file?v=abc");
    expect(sliceUrl("/api/images/3/file?v=abc", 4)).toBe("/api/images/3/file?v=abc&slice=4");
    expect(sliceUrl("/api/images/3/file", 2)).toBe("/api/images/3/file?slice=2");
  });
});
