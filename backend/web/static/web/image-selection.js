// The project page's selection of images for a new batch: the grid's boxes belong to form#select-batch (form="…"),
// "Select all shown" ticks every box of the images the filter shows, and the count and button follow the ticks.
(() => {
  const form = document.getElementById("select-batch");
  if (!form) return;
  const all = form.querySelector("[data-select-all]");
  const count = form.querySelector("[data-selected-count]");
  const create = form.querySelector("[data-create]");
  const boxes = () => [...form.elements].filter((element) => element.name === "image_ids");
  const update = () => {
    const ticked = boxes().filter((box) => box.checked).length;
    count.textContent = `${ticked} selected`;
    create.disabled = ticked === 0;
    all.checked = ticked > 0 && ticked === boxes().length;
    all.indeterminate = ticked > 0 && ticked < boxes().length;
    for (const box of boxes()) box.closest("figure").classList.toggle("picked", box.checked);
  };
  all.addEventListener("change", () => {
    for (const box of boxes()) box.checked = all.checked;
    update();
  });
  for (const box of boxes()) box.addEventListener("change", update);
  update();
})();
