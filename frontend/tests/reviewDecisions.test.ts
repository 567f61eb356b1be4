import { describe, expect, it } from "vitest";
import { type BatchSummary, finishOutcome, modeOf, reviewControls } from "../src/reviewDecisions";

const batch = (status: string, accepted: number, rejected: number, undecided: number): BatchSummary => ({
  id: 1,
  name: "B",
  status,
  image_count: accepted + rejected + undecided,
  accepted_images: accepted,
  rejected_images: rejected,
  undecided_images: undecided,
});

describe("review decisions", () => {
  it("lets the reviewer change a decision while the batch is under review", () => {
    const c = reviewControls("review", "rejected", batch("submitted", 0, 1, 1));
    expect(c).toMatchObject({ decisions: true, comments: true, canDecide: true, current: "reject" });
    expect(c.canDecideRest).toBe(true);
    expect(c.canFinish).toBe(false);
    expect(c.outcome).toBe("1 image still undecided.");
  });

  it("enables Finish review once every image is decided and says what it will do", () => {
    const back = reviewControls("review", "accepted", batch("submitted", 1, 2, 0));
    expect([back.canFinish, back.canDecideRest]).toEqual([true, false]);
    expect(back.outcome).toBe("Finishing sends the batch back to its annotator (2 rejected images).");
    expect(reviewControls("review", "accepted", batch("submitted", 3, 0, 0)).outcome).toBe("Finishing accepts the batch.");
  });

  it("allows no decision once the review is finished or before submission", () => {
    for (const status of ["accepted", "rejected", "open"]) {
      const c = reviewControls("review", "accepted", batch(status, 1, 0, 0));
      expect([c.decisions, c.canDecide, c.canDecideRest, c.canFinish]).toEqual([true, false, false, false]);
    }
    expect(finishOutcome(batch("rejected", 1, 1, 0))).toBe("The review is finished: the batch is rejected.");
    expect(reviewControls("review", "submitted", batch("submitted", 0, 0, 2)).current).toBeNull();
  });

  it("shows no decision and no comment control in read-only mode", () => {
    for (const b of [batch("submitted", 0, 0, 1), null]) {
      const c = reviewControls(modeOf("read-only"), "submitted", b);
      expect(c).toMatchObject({ decisions: false, comments: false, canDecide: false, canDecideRest: false, canFinish: false, outcome: "" });
    }
    expect(modeOf(undefined)).toBe("review");
    expect(modeOf("anything")).toBe("review");
  });
});
