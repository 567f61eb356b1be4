import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { LatestSender } from "../src/displaySync";

describe("sending the newest display mapping", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  function sender() {
    const sent: number[] = [];
    const answers: ((value: string) => void)[] = [];
    const failures: ((error: Error) => void)[] = [];
    const done: [string, number][] = [];
    const failed: number[] = [];
    const s = new LatestSender<number, string>(
      (value) =>
        new Promise((resolve, reject) => {
          sent.push(value);
          answers.push(resolve);
          failures.push(reject);
        }),
      { done: (result, value) => done.push([result, value]), failed: (_e, value) => failed.push(value) },
      150,
    );
    return { s, sent, answers, failures, done, failed };
  }

  it("waits for a pause, sends one at a time, and only the newest goes next", async () => {
    const t = sender();
    t.s.push(1);
    t.s.push(2);
    await vi.advanceTimersByTimeAsync(100);
    expect(t.sent).toEqual([]);
    t.s.push(3);
    await vi.advanceTimersByTimeAsync(150);
    expect(t.sent).toEqual([3]); // 1 and 2 were replaced before the pause ended
    t.s.push(4);
    t.s.push(5);
    await vi.advanceTimersByTimeAsync(200);
    expect(t.sent).toEqual([3]); // one request at a time
    expect(t.s.pending).toEqual([3, 5]);
    t.answers[0]("three");
    await vi.advanceTimersByTimeAsync(0);
    expect(t.done).toEqual([]); // a newer value waits: the old answer is not applied
    expect(t.sent).toEqual([3, 5]);
    t.answers[1]("five");
    await vi.advanceTimersByTimeAsync(0);
    expect(t.done).toEqual([["five", 5]]);
    expect(t.s.busy).toBe(false);
  });

  it("reports a refusal of the newest value", async () => {
    const t = sender();
    t.s.push(7);
    await vi.advanceTimersByTimeAsync(150);
    t.failures[0](new Error("bad_display"));
    await vi.advanceTimersByTimeAsync(0);
    expect(t.failed).toEqual([7]);
    expect(t.done).toEqual([]);
  });
});
