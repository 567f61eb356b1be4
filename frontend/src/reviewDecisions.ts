/**
 * What the review page's controls show and allow, as pure functions of the page mode, the image's status and the
 * batch's counts (the batch API's `accepted_images`, `rejected_images`, `undecided_images`). Kept apart from
 * the DOM so the rules are unit-tested.
 */

export type ReviewMode = "review" | "read-only";
export type Decision = "accept" | "reject";

/** The batch as the batch API returns it (the fields the review page reads). */
export interface BatchSummary {
  id: number;
  name: string;
  status: string;
  image_count?: number;
  accepted_images?: number;
  rejected_images?: number;
  undecided_images?: number;
}

export interface ReviewControls {
  /** Accept/Reject of this image, the batch-wide buttons and Finish review are shown. */
  decisions: boolean;
  /** The comment box is shown and a click on the image pins a comment. */
  comments: boolean;
  /** The image's decision can be made or changed now. */
  canDecide: boolean;
  /** "Accept the rest" / "Reject the rest": some images are still undecided. */
  canDecideRest: boolean;
  /** "Finish review": every image is decided. */
  canFinish: boolean;
  /** The current decision on this image, shown as the pressed button. */
  current: Decision | null;
  /** What finishing does now, or why it cannot be done yet. */
  outcome: string;
}

export function modeOf(value: unknown): ReviewMode {
  return value === "read-only" ? "read-only" : "review";
}

export function currentDecision(imageStatus: string): Decision | null {
  if (imageStatus === "accepted") return "accept";
  if (imageStatus === "rejected") return "reject";
  return null;
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

/** What "Finish review" will do with the batch, or why it is not possible yet. */
export function finishOutcome(batch: BatchSummary | null): string {
  if (!batch) return "";
  if (batch.status !== "submitted") return `The review is finished: the batch is ${batch.status}.`;
  const undecided = batch.undecided_images ?? 0;
  if (undecided > 0) return `${plural(undecided, "image")} still undecided.`;
  const rejected = batch.rejected_images ?? 0;
  if (rejected > 0) return `Finishing sends the batch back to its annotator (${plural(rejected, "rejected image")}).`;
  return "Finishing accepts the batch.";
}

export function reviewControls(mode: ReviewMode, imageStatus: string, batch: BatchSummary | null): ReviewControls {
  const reviewing = mode === "review" && batch !== null;
  const underReview = reviewing && batch.status === "submitted";
  const undecided = batch?.undecided_images ?? 0;
  return {
    decisions: reviewing,
    comments: mode === "review",
    canDecide: underReview,
    canDecideRest: underReview && undecided > 0,
    canFinish: underReview && undecided === 0,
    current: currentDecision(imageStatus),
    outcome: reviewing ? finishOutcome(batch) : "",
  };
}
