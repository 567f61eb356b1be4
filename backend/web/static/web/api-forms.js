// Forms of the server-rendered pages that call the REST API: <form data-api="URL" [data-method="PATCH"]>, JSON by
// default or multipart with data-multipart; fields marked data-number are sent as numbers, empty fields and unticked
// boxes are left out, fields marked data-list are sent as a list of the values of all of that name (the form's own
// and those outside it that name it with form="…"), and a field named in the URL as "{name}" goes into the URL
// instead of the body.
// On success the form fires "api-form:done" with the answer, then the page reloads (or goes to data-then, where
// "{id}" is the created object's id) unless the form has data-stay; on failure the API's message is shown in the
// form's [data-result].
// Submit buttons marked data-wait-js are rendered disabled and enabled here, once the form is wired: a click made
// before this script ran would otherwise submit the form natively and lose what was typed.
(() => {
  const csrf = () => (document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/) || [])[1] || "";
  const inUrl = (form) => new Set([...form.dataset.api.matchAll(/\{(\w+)\}/g)].map((m) => m[1]));
  const url = (form) => form.dataset.api.replace(/\{(\w+)\}/g, (_, name) => encodeURIComponent(form.elements[name].value));
  const jsonBody = (form) => {
    const body = {};
    const skip = inUrl(form);
    for (const element of form.elements) {
      if (!element.name || skip.has(element.name) || element.type === "file") continue;
      const list = "list" in element.dataset;
      if (list && !(element.name in body)) body[element.name] = [];
      if (element.value === "" || (["checkbox", "radio"].includes(element.type) && !element.checked)) continue;
      const value = "number" in element.dataset ? Number(element.value) : element.value;
      if (list) body[element.name].push(value);
      else body[element.name] = value;
    }
    return JSON.stringify(body);
  };
  const describe = (data, response) => {
    if (data.detail) return data.detail;
    const fields = Object.entries(data).filter(([, v]) => Array.isArray(v)).map(([k, v]) => `${k}: ${v.join(" ")}`);
    return fields.join("; ") || response.statusText;
  };
  for (const form of document.querySelectorAll("form[data-api]")) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const result = form.querySelector("[data-result]");
      const button = form.querySelector("button[type=submit]");
      const multipart = "multipart" in form.dataset;
      button.disabled = true;
      const response = await fetch(url(form), {
        method: form.dataset.method || "POST",
        credentials: "same-origin",
        headers: {"X-CSRFToken": decodeURIComponent(csrf()), ...(multipart ? {} : {"Content-Type": "application/json"})},
        body: multipart ? new FormData(form) : jsonBody(form),
      }).catch(() => null);
      button.disabled = false;
      const data = response ? await response.json().catch(() => ({})) : {detail: "The server could not be reached."};
      result.hidden = false;
      if (response && response.ok) {
        result.className = "";
        const skipped = Array.isArray(data.duplicates) ? data.duplicates.length : 0;
        result.textContent = (form.dataset.done || "Done.") + (skipped ? ` ${skipped} duplicate${skipped > 1 ? "s" : ""} skipped.` : "");
        const id = Array.isArray(data) ? data[0] && data[0].id : data.id;
        const then = form.dataset.then ? form.dataset.then.replace("{id}", id) : location.href;
        form.dispatchEvent(new CustomEvent("api-form:done", {detail: data}));
        const nothingNew = Array.isArray(data.created) && data.created.length === 0;
        if (!nothingNew && !("stay" in form.dataset)) setTimeout(() => (location.href = then), skipped ? 1500 : 300);
      } else {
        result.className = "error";
        result.textContent = describe(data, response || {statusText: ""});
      }
    });
    for (const button of form.querySelectorAll("button[data-wait-js]")) button.disabled = false;
  }
})();
