// The project page's import form (COCO, LabelMe, YOLO-seg): its report as a sentence.
document.getElementById("import").addEventListener("api-form:done", (event) => {
  const report = event.detail;
  const parts = [`${report.created} objects imported`];
  if (report.already_imported) parts.push(`${report.already_imported} were already there`);
  if (report.labels_created.length) parts.push(`new labels: ${report.labels_created.join(", ")}`);
  if (report.crowd_skipped) parts.push(`${report.crowd_skipped} crowd regions skipped`);
  const skipped = report.skipped || [];
  if (skipped.length) parts.push(`${skipped.length} skipped (${skipped[0].annotation}: ${skipped[0].reason}${skipped.length > 1 ? "; …" : ""})`);
  const missing = report.unmatched_images;
  if (missing.length) parts.push(`no image named ${missing.slice(0, 5).join(", ")}${missing.length > 5 ? "…" : ""}`);
  event.target.querySelector("[data-result]").textContent = parts.join("; ") + ".";
});
