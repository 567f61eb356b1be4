// The project page's model panel: active model, "fine-tune on this project" and its jobs (backend.training).
(() => {
  const panel = document.getElementById("model-panel");
  const api = `/api/projects/${panel.dataset.project}`;
  const csrf = () => (panel.querySelector("[name=csrfmiddlewaretoken]") || {}).value || "";
  const send = (url, method, body) => fetch(url, {method, credentials: "same-origin",
    headers: {"Content-Type": "application/json", "X-CSRFToken": csrf()}, body: body && JSON.stringify(body)});
  const showError = async (response) => {
    const box = panel.querySelector("[data-error]");
    if (!box) return;
    const data = await response.json().catch(() => ({}));
    box.textContent = data.detail || data.message || JSON.stringify(data);
    box.hidden = false;
  };
  const cell = (text) => { const td = document.createElement("td"); td.textContent = text; return td; };
  const noc = (m) => (m && m.noc90 !== undefined ? m.noc90.toFixed(2) : "—");
  async function loadModels() {
    const state = await (await fetch(`${api}/model/`, {credentials: "same-origin"})).json();
    panel.querySelector("[data-active]").textContent = state.active;
    const select = panel.querySelector("select[name=model]");
    if (!select) return;
    select.replaceChildren(new Option(`server default (${state.server_default})`, ""));
    for (const name of state.available) select.add(new Option(name, name, false, name === state.selected));
    panel.dataset.loaded = "1"; // the choices are the server's now (a choice made before would be replaced)
  }
  async function loadJobs() {
    const jobs = await (await fetch(`${api}/finetune/`, {credentials: "same-origin"})).json();
    const table = panel.querySelector("[data-jobs]");
    table.querySelectorAll("tr[data-job]").forEach((row) => row.remove());
    for (const job of jobs) {
      const row = document.createElement("tr");
      row.dataset.job = job.id;
      const progress = job.status === "running" ? `${Math.round(job.progress * 100)} % · ${job.stage}` : job.stage;
      row.append(cell(`#${job.id}`), cell(job.base_model), cell(job.status), cell(progress || ""),
        cell(job.status === "succeeded" ? `${noc(job.noc_before)} → ${noc(job.noc_after)}` : job.error || "—"),
        cell(job.result_model || "—"));
      table.append(row);
    }
    table.hidden = jobs.length === 0;
    if (jobs.some((job) => job.status === "queued" || job.status === "running")) setTimeout(refresh, 2000);
  }
  async function refresh() { await Promise.all([loadModels(), loadJobs()]); }
  const form = panel.querySelector("[data-switch]");
  if (form) form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const response = await send(`${api}/model/`, "PATCH", {model: form.model.value});
    if (!response.ok) return showError(response);
    refresh();
  });
  const start = panel.querySelector("[data-finetune]");
  if (start) start.addEventListener("click", async () => {
    const response = await send(`${api}/finetune/`, "POST");
    if (!response.ok) return showError(response);
    refresh();
  });
  refresh();
})();
