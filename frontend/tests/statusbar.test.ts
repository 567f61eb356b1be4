import { describe, expect, it } from "vitest";
import { preferenceOf, preferredOptions } from "../src/controls";
import { nextRetry, RETRY_MAX_MS } from "../src/socket";
import { connectionOf } from "../src/statusbar";
import { emptyWarning, submittable } from "../src/submit";

describe("the connection indicator", () => {
  it("never says connected while the browser is offline", () => {
    expect(connectionOf(true, null, true)).toBe("connected");
    expect(connectionOf(true, null, false)).toBe("offline");
    expect(connectionOf(false, 1006, false)).toBe("offline");
    expect(connectionOf(false, 1006, true)).toBe("reconnecting");
    expect(connectionOf(false, null, true)).toBe("connecting");
    expect(connectionOf(false, 4401, false)).toBe("logged-out");
    expect(connectionOf(false, 4403, true)).toBe("refused");
  });

  it("retries soon: the backoff stays within a couple of seconds", () => {
    const delays = [250];
    for (let i = 0; i < 8; i += 1) delays.push(nextRetry(delays[delays.length - 1]));
    expect(delays.slice(0, 4)).toEqual([250, 500, 1000, 2000]);
    expect(Math.max(...delays)).toBe(RETRY_MAX_MS);
    expect(RETRY_MAX_MS).toBeLessThanOrEqual(2000);
  });
});

describe("mask option preferences", () => {
  it("take the user's threshold and tolerance where valid", () => {
    expect(preferredOptions({ maskThreshold: 0.7, maskTolerance: 2.5 })).toEqual({ threshold: 0.7, tolerance: 2.5 });
    expect(preferredOptions({ maskThreshold: 3, maskTolerance: "x" })).toEqual({});
    expect(preferenceOf({ threshold: 0.3 })).toEqual({ maskThreshold: 0.3 });
    expect(preferenceOf({ tolerance: 0 })).toEqual({ maskTolerance: 0 });
  });
});

describe("submitting the batch", () => {
  it("is offered while the batch is with its annotator", () => {
    expect(submittable({ id: 1, name: "b", status: "open" })).toBe(true);
    expect(submittable({ id: 1, name: "b", status: "rejected" })).toBe(true);
    expect(submittable({ id: 1, name: "b", status: "submitted" })).toBe(false);
    expect(submittable(null)).toBe(false);
  });

  it("warns about images without objects", () => {
    expect(emptyWarning({ image_count: 12, empty_images: 3 })).toBe("⚠ 3 of its 12 images have no object yet.");
    expect(emptyWarning({ image_count: 2, empty_images: 1 })).toBe("⚠ 1 of its 2 images has no object yet.");
    expect(emptyWarning({ empty_images: 0 })).toBe("Every image of the batch has at least one object.");
    expect(emptyWarning({ image_count: 2 })).toBe("");
  });
});
