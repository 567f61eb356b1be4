// The project page, live (docs/interactive-protocol.md, "The project socket"): who is online and on which image —
// initials in each person's colour in #project-viewers and on the image cards ([data-image-id] .presence) — and
// the status of images and batches as they change, without a reload. The socket reconnects by itself (a refusal,
// 4401/4404, stops it) and sends `heartbeat` every heartbeat interval to stay among the viewers.
(() => {
  const configElement = document.getElementById("project-live-config");
  if (!configElement || typeof WebSocket === "undefined") return;
  const config = JSON.parse(configElement.textContent);
  const list = document.getElementById("project-viewers");
  const RETRY_FIRST_MS = 250;
  const RETRY_MAX_MS = 5000;
  let socket = null;
  let heartbeat = null;
  let timer = null;
  let retryMs = RETRY_FIRST_MS;
  const state = { connected: false, connections: 0, viewers: [], changes: 0 };
  window.edgeflowProjectLive = state; // for tests and the console

  function initials(name) {
    const words = name.split(/[\s._@-]+/).filter(Boolean);
    const letters = words.length > 1 ? words[0][0] + words[1][0] : (words[0] || "?").slice(0, 2);
    return letters.toUpperCase();
  }

  function textOn(colour) {
    const n = Number.parseInt(colour.slice(1), 16);
    return 0.299 * ((n >> 16) & 255) + 0.587 * ((n >> 8) & 255) + 0.114 * (n & 255) > 150 ? "#000000" : "#ffffff";
  }

  function colourOf(person) {
    return /^#[0-9a-f]{6}$/i.test(person.colour || "") ? person.colour : "#888888";
  }

  function badge(person, title) {
    const span = document.createElement("span");
    span.className = "viewer";
    span.dataset.userId = String(person.id);
    span.dataset.name = person.name;
    span.title = title;
    span.style.background = colourOf(person);
    span.style.color = textOn(colourOf(person));
    span.textContent = initials(person.name);
    return span;
  }

  function imageName(id) {
    const card = document.querySelector(`[data-image-id="${id}"]`);
    const img = card && card.querySelector("img");
    return img ? img.alt : `image ${id}`;
  }

  /** `viewers`: one entry per person and place (`image`: the image they have open, or null: the project page;
   * `batch`: that image's batch, or null). */
  function renderViewers(viewers) {
    state.viewers = viewers;
    const people = new Map();
    for (const v of viewers) {
      if (!people.has(v.id)) people.set(v.id, { person: v, places: [] });
      people.get(v.id).places.push(v.image === null ? "the project page" : imageName(v.image));
    }
    if (list) {
      list.dataset.count = String(people.size);
      list.replaceChildren(...[...people.values()].map(({ person, places }) => badge(person, `${person.name}: ${places.join(", ")}`)));
    }
    const onImage = byPerson(viewers, "image");
    showIn("[data-image-id] .presence", "data-image-id", onImage, (person) => `${person.name} has this image open`);
    const inBatch = byPerson(viewers, "batch");
    showIn("#batches [data-batch-id] .batch-presence", "data-batch-id", inBatch, (person, places) =>
      `${person.name} has ${places.map((v) => imageName(v.image)).join(", ")} open`);
  }

  /** `key` (image or batch) → person id → that person's entries there; entries without a `key` are left out. */
  function byPerson(viewers, key) {
    const groups = new Map();
    for (const v of viewers) {
      if (v[key] === null || v[key] === undefined) continue;
      if (!groups.has(v[key])) groups.set(v[key], new Map());
      const people = groups.get(v[key]);
      if (!people.has(v.id)) people.set(v.id, []);
      people.get(v.id).push(v);
    }
    return groups;
  }

  /** Each badge box matching `selector` shows the people of its group (named by its nearest `attribute`). */
  function showIn(selector, attribute, groups, title) {
    for (const box of document.querySelectorAll(selector)) {
      const id = Number(box.closest(`[${attribute}]`).getAttribute(attribute));
      const here = [...(groups.get(id) || new Map()).values()];
      box.replaceChildren(...here.map((places) => badge(places[0], title(places[0], places))));
      box.dataset.count = String(here.length);
    }
  }

  function imageChanged(image) {
    for (const el of document.querySelectorAll(`[data-image-id="${image.id}"] [data-image-status]`)) {
      el.dataset.imageStatus = image.status;
      el.className = `status status-${image.status}`;
      el.textContent = config.imageStatuses[image.status] || image.status;
    }
  }

  function batchChanged(batch) {
    for (const el of document.querySelectorAll(`[data-batch-id="${batch.id}"] [data-batch-status]`)) {
      el.dataset.batchStatus = batch.status;
      el.textContent = config.batchStatuses[batch.status] || batch.status;
    }
  }

  function received(event) {
    let msg;
    try {
      msg = JSON.parse(event.data);
    } catch {
      return;
    }
    if (!msg || typeof msg.type !== "string") return;
    if (msg.type === "ready") {
      state.connected = true;
      state.connections += 1;
      retryMs = RETRY_FIRST_MS;
      clearInterval(heartbeat);
      heartbeat = setInterval(() => send({ type: "heartbeat" }), config.heartbeatS * 1000);
    }
    if ((msg.type === "ready" || msg.type === "viewers") && Array.isArray(msg.viewers)) renderViewers(msg.viewers);
    else if (msg.type === "image_changed" && msg.image) imageChanged(msg.image);
    else if (msg.type === "batch_changed" && msg.batch) batchChanged(msg.batch);
    else return;
    state.changes += 1;
  }

  function send(msg) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(msg));
  }

  function connect() {
    clearTimeout(timer);
    timer = null;
    if (socket) return; // an attempt is under way, or the socket is open
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/ws/projects/${config.project}/live/`);
    socket = ws;
    ws.onmessage = received;
    ws.onclose = (event) => {
      if (socket !== ws) return;
      socket = null;
      state.connected = false;
      clearInterval(heartbeat);
      if (event.code >= 4400) return; // logged out, or not a member any more: retrying cannot help
      timer = setTimeout(connect, retryMs);
      retryMs = Math.min(RETRY_MAX_MS, retryMs * 2);
    };
  }

  window.addEventListener("online", connect);
  connect();
})();
