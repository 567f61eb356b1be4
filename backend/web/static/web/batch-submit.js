// The project page's "Submit batch": the first click shows the in-page confirmation (which says how many of the
// batch's images have no object); "Yes, submit" sends the form through api-forms.js, "Cancel" folds it away.
for (const form of document.querySelectorAll("form.submit-batch")) {
  const ask = form.querySelector("[data-ask]");
  const confirm = form.querySelector("[data-confirm]");
  ask.addEventListener("click", () => {
    ask.hidden = true;
    confirm.hidden = false;
    confirm.querySelector("button[type=submit]").focus();
  });
  form.querySelector("[data-cancel]").addEventListener("click", () => {
    confirm.hidden = true;
    ask.hidden = false;
    ask.focus();
  });
}
