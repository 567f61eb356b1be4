/**
 * The display mapping of a source image (16-bit, float, DICOM…; backend/images/display.py): window/level or a
 * percentile stretch, the bands shown as red/green/blue, inverted or not. Pure helpers: what a mapping is called
 * on the status line, the preset it matches, the value range the window sliders cover, the URL of a slice.
 */

export interface DisplayMapping {
  mode: "window" | "percentile";
  center?: number;
  width?: number;
  low?: number;
  high?: number;
  bands?: number[]; // 0-based band indices shown as R, G, B (one index: grey)
  invert?: boolean;
}

export interface Preset {
  name: string;
  center: number;
  width: number;
}

/** What the page config says about a source (null for an 8-bit photo, shown as stored). */
export interface SourceInfo {
  kind: string; // "scalar", "dicom", "nifti", "geotiff"
  slices: number;
  bands: number;
  sampleType: string; // numpy dtype of the samples ("uint16", "float32"…)
  display: DisplayMapping;
  presets: Preset[];
  meta: Record<string, unknown>;
  displayUrl: string; // PUT {display}
}

/** A number as people read it: integers plain, others with at most 3 significant decimals. */
export function numberText(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return String(value);
  return String(Number(value.toPrecision(Math.abs(value) >= 1 ? 6 : 3)));
}

/** The preset `display` shows (same window), if any. */
export function presetOf(display: DisplayMapping, presets: Preset[]): Preset | undefined {
  if (display.mode !== "window") return undefined;
  return presets.find((p) => p.center === display.center && p.width === display.width);
}

/** "Lung: window L -600 W 1500", "Window L 40 W 400", "Stretch 2–98 %", with bands (1-based) and inversion. */
export function describeDisplay(display: DisplayMapping, presets: Preset[] = [], bandCount = 1): string {
  let text: string;
  if (display.mode === "window") {
    const window = `L ${numberText(display.center ?? 0)} W ${numberText(display.width ?? 0)}`;
    const preset = presetOf(display, presets);
    text = preset ? `${preset.name}: window ${window}` : `Window ${window}`;
  } else {
    text = `Stretch ${numberText(display.low ?? 0)}–${numberText(display.high ?? 100)} %`;
  }
  const bands = display.bands ?? [];
  if (bandCount > 1 && bands.length) text += ` · band${bands.length > 1 ? "s" : ""} ${bands.map((b) => b + 1).join("-")}`;
  if (display.invert) text += " · inverted";
  return text;
}

/** The mapping with `preset`'s window (bands and inversion kept). */
export function withPreset(display: DisplayMapping, preset: Preset): DisplayMapping {
  return { mode: "window", center: preset.center, width: preset.width, bands: display.bands, invert: display.invert };
}

/** The same mapping, whatever the key order (the server's echo of our own change is recognised by this). */
export function displayKey(display: DisplayMapping | null | undefined): string {
  if (!display) return "";
  const d = display as unknown as Record<string, unknown>;
  return JSON.stringify(Object.keys(d).sort().map((k) => [k, d[k]]));
}

const INTEGER_RANGES: Record<string, [number, number]> = {
  uint8: [0, 255],
  int8: [-128, 127],
  uint16: [0, 65535],
  int16: [-32768, 32767],
  uint32: [0, 4294967295],
  int32: [-2147483648, 2147483647],
};

/**
 * The values the window sliders cover: `meta.value_range` when the server gives one, CT's Hounsfield scale for CT,
 * the sample type's range for integers, else around the presets and the current window — always including them.
 * (The numeric inputs take any value.)
 */
export function windowRange(source: Pick<SourceInfo, "sampleType" | "meta" | "presets" | "display">): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  const take = (lo: number, hi: number) => {
    if (Number.isFinite(lo) && Number.isFinite(hi)) {
      min = Math.min(min, lo);
      max = Math.max(max, hi);
    }
  };
  const given = source.meta?.value_range;
  if (Array.isArray(given) && given.length === 2) take(Number(given[0]), Number(given[1]));
  else if (source.meta?.Modality === "CT") take(-1024, 3071);
  else if (source.sampleType in INTEGER_RANGES) take(...INTEGER_RANGES[source.sampleType]);
  const d = source.display;
  const windows = [...source.presets, ...(d.mode === "window" ? [{ center: d.center ?? NaN, width: d.width ?? NaN }] : [])];
  for (const w of windows) take(w.center - w.width / 2, w.center + w.width / 2);
  if (min === Infinity) take(0, 1);
  if (max <= min) max = min + 1;
  return { min, max };
}

/** The URL of slice `index` (0-based) of an image whose slice 0 is at `url`. */
export function sliceUrl(url: string, index: number): string {
  if (index <= 0) return url;
  return `${url}${url.includes("?") ? "&" : "?"}slice=${index}`;
}
