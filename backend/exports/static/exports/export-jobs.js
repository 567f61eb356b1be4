// The project page's Export card: start an export job, list the project's exports with their progress and
// download links, polling while one is queued or running (backend.exports; API /api/projects/{id}/exports/).
(() => {
  const card = document.getElementById("export");
  if (!card) return;
  const form = card.querySelector("form[data-start]");
  const table = card.querySelector("table[data-jobs]");
  const error = card.querySelector("[data-error]");
  const csrf = () => (form.querySelector("[name=csrfmiddlewaretoken]") || {}).value || "";
  const active = (job) => job.status === "queued" || job.status === "running";
  let timer = null;

  const megabytes = (size) => (size === null ? "—" : `${(size / 1e6).toFixed(size < 1e7 ? 2 : 1)} MB`);
  const cell = (...children) => { const td = document.createElement("td"); td.append(...children); return td; };

  function progressCell(job) {
    if (job.status === "failed") {
      const text = document.createElement("span");
      text.className = "error";
      text.textContent = `failed: ${job.error}`;
      return cell(text);
    }
    const bar = document.createElement("progress");
    bar.max = 1;
    bar.value = job.progress;
    const label = job.status === "succeeded" ? "done" : job.status === "queued" ? "queued" : `${Math.round(job.progress * 100)} %`;
    return cell(bar, ` ${label}`);
  }

  function actionsCell(job) {
    const td = cell();
    if (job.download) {
      const link = document.createElement("a");
      link.href = job.download;
      link.textContent = "Download .zip";
      link.setAttribute("download", "");
      td.append(link, " ");
    }
    if (!active(job)) {
      const remove = document.createElement("button");
      remove.type = "button";
      remove.textContent = "Delete";
      remove.addEventListener("click", async () => {
        await fetch(`/api/exports/${job.id}/`, {method: "DELETE", credentials: "same-origin", headers: {"X-CSRFToken": csrf()}});
        refresh();
      });
      td.append(remove);
    }
    return td;
  }

  function render(jobs) {
    const body = table.querySelector("tbody");
    body.replaceChildren(...jobs.map((job) => {
      const row = document.createElement("tr");
      row.dataset.job = job.id;
      row.dataset.status = job.status;
      const started = new Date(job.created_at).toLocaleString();
      const images = `${job.images}${job.include_images ? "" : " (annotations only)"}`;
      row.append(cell(`#${job.id}`), cell(job.format), cell(images), cell(started), progressCell(job),
        cell(megabytes(job.size)), actionsCell(job));
      return row;
    }));
    table.hidden = jobs.length === 0;
  }

  async function refresh() {
    clearTimeout(timer);
    const response = await fetch(card.dataset.api, {credentials: "same-origin"}).catch(() => null);
    if (response && response.ok) {
      const jobs = await response.json();
      render(jobs);
      card.dataset.loaded = "1";
      if (jobs.some(active)) timer = setTimeout(refresh, 1000);
    } else {
      timer = setTimeout(refresh, 5000); // the server is restarting or unreachable: try again later
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    error.hidden = true;
    const body = {format: form.elements.format.value, images: form.elements.images.checked,
                  patient_data: form.elements.patient_data.checked};
    if (form.elements.status.value) body.status = form.elements.status.value;
    const response = await fetch(card.dataset.api, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf()}, body: JSON.stringify(body),
    }).catch(() => null);
    button.disabled = false;
    if (!response || !response.ok) {
      const data = response ? await response.json().catch(() => ({})) : {};
      error.textContent = data.detail || data.message || "The export could not be started.";
      error.hidden = false;
    }
    refresh();
  });
  form.querySelector("button[data-wait-js]").disabled = false; // wired: a click now cannot submit natively
  refresh();
})();
