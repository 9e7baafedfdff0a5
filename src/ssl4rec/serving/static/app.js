// ssl4rec web page: pick a user or build a session, see explained
// recommendations (a bar per history item under "why", by any explanation method
// the model supports, or a Transformer's attention), add events. Plain JS, no build step.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { mode: "user", user: null, session: [], k: 10, titles: {}, methods: [] };
const MAX_BARS = 20; // longer histories show their strongest positions

function esc(text) {
  const span = document.createElement("span");
  span.textContent = text == null ? "" : String(text);
  return span.innerHTML;
}

function label(item, title) {
  if (title) state.titles[item] = title;
  return state.titles[item] || item;
}

// API paths are relative to the page, so the same page works at "/" and under a
// case's prefix ("/cases/music/", see `ssl4rec case serve`).
async function api(path, options = {}) {
  const headers = { "Content-Type": "application/json" };
  const key = $("api-key").value.trim();
  if (key) headers["X-API-Key"] = key;
  const response = await fetch(path.replace(/^\//, ""), { ...options, headers });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const field = body.field ? ` (${body.field})` : "";
    const detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
    throw new Error(`${response.status}: ${detail}${field}`);
  }
  return body;
}

function setStatus(text, isError = false) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "muted";
}

function renderRecs(data, previous) {
  const list = $("recs");
  list.innerHTML = "";
  const who = data.user == null ? "this session" : `user ${esc(data.user)}`;
  $("recs-title").innerHTML =
    `Recommendations for ${who}` +
    (data.fallback ? ` <span class="badge" id="fallback">fallback: ${esc(data.fallback)}</span>` : "");
  for (const rec of data.items) {
    const li = document.createElement("li");
    li.className = "rec" + (previous && !previous.has(rec.item) ? " fresh" : "");
    li.dataset.item = rec.item;
    const because = (rec.because || [])
      .map((r) => `<b>${esc(label(r.item, r.title))}</b> (${r.weight.toFixed(3)})`)
      .join(", ");
    const why = state.methods.length && !data.fallback
      ? `<button class="small secondary why" aria-expanded="false" title="Weight of each history item">why</button>`
      : "";
    li.innerHTML =
      `<div class="rec-head"><span class="title">${esc(label(rec.item, rec.title))}</span>` +
      `<span class="score">score ${rec.score.toFixed(3)}</span></div>` +
      (rec.detail ? `<div class="detail">${esc(rec.detail)}</div>` : "") +
      `<div class="because">${because ? "because you liked " + because : data.fallback ? "popular with everyone" : "no single history item stands out"}</div>` +
      why +
      `<button class="small add-event" title="Record that this item was consumed">+ add event</button>` +
      `<div class="why-panel" hidden></div>`;
    li.querySelector(".add-event").addEventListener("click", () => addItem(rec.item, rec.title));
    const toggle = li.querySelector(".why");
    if (toggle) toggle.addEventListener("click", () => toggleWhy(li));
    list.appendChild(li);
  }
  setStatus(`${data.items.length} items · model ${data.model} · history ${data.history_length} · retrieval ${data.retrieval}`);
}

async function refresh() {
  const previous = new Set([...document.querySelectorAll("li.rec")].map((li) => li.dataset.item));
  try {
    let data;
    if (state.mode === "user") {
      if (!state.user) return;
      data = await api(`/users/${encodeURIComponent(state.user)}/recommendations?k=${state.k}&explain=true${methodParam("&")}`);
      await loadHistory();
    } else {
      data = await api("/recommendations", {
        method: "POST",
        body: JSON.stringify({ items: state.session, k: state.k, explain: true, method: $("method").value || null }),
      });
      renderSession();
    }
    const open = new Set(
      [...document.querySelectorAll("li.rec")].filter((li) => !li.querySelector(".why-panel").hidden).map((li) => li.dataset.item),
    );
    renderRecs(data, previous.size ? previous : null);
    for (const li of document.querySelectorAll("li.rec")) {
      if (open.has(li.dataset.item) && li.querySelector(".why")) toggleWhy(li); // keep open panels open
    }
  } catch (err) {
    setStatus(err.message, true);
  }
}

function methodParam(sep) {
  const method = $("method").value;
  return method ? `${sep}method=${encodeURIComponent(method)}` : "";
}

// ---------------------------------------------------------------- "why": bars per history item
async function toggleWhy(li) {
  const panel = li.querySelector(".why-panel");
  const open = panel.hidden;
  panel.hidden = !open;
  li.querySelector(".why").setAttribute("aria-expanded", String(open));
  if (open) await drawWhy(li);
}

async function drawWhy(li) {
  const panel = li.querySelector(".why-panel");
  const layer = $("layer").value;
  const head = $("head").value;
  const view = layer === "" ? `method:${$("method").value}` : `attention:${layer}:${head}`;
  panel.dataset.view = "";
  try {
    if (layer === "") {
      const data = await explanation(li.dataset.item);
      panel.innerHTML = `<p class="sentence">${esc(data.sentence)}</p>`;
      drawBars(panel, data.weights, `weights by ${data.method}`);
      if (data.tokens && data.tokens.length) {
        const words = data.tokens.map((t) => `<span title="${t.weight.toFixed(3)}">${esc(t.token)}</span>`);
        panel.insertAdjacentHTML("beforeend", `<div class="tokens">words of its text: ${words.join("")}</div>`);
      }
    } else {
      const data = await attention(layer, head);
      const heads = data.head == null ? "mean of heads" : `head ${data.head}`;
      panel.innerHTML = `<p class="sentence">What the scoring position read (the same for every recommended item).</p>`;
      drawBars(panel, data.weights, `attention, layer ${data.layer}, ${heads}`);
    }
    panel.dataset.view = view;
  } catch (err) {
    panel.innerHTML = `<p class="error">${esc(err.message)}</p>`;
  }
}

function explanation(item) {
  if (state.mode === "user") {
    const base = `/users/${encodeURIComponent(state.user)}/recommendations/${encodeURIComponent(item)}/explanation`;
    return api(base + methodParam("?"));
  }
  const body = { items: state.session, item, method: $("method").value || null };
  return api("/explanations", { method: "POST", body: JSON.stringify(body) });
}

function attention(layer, head) {
  const layerValue = Number(layer);
  const headValue = head === "" ? null : Number(head);
  if (state.mode === "user") {
    const query = `?layer=${layerValue}` + (headValue == null ? "" : `&head=${headValue}`);
    return api(`/users/${encodeURIComponent(state.user)}/attention${query}`);
  }
  const body = { items: state.session, layer: layerValue, head: headValue };
  return api("/attention", { method: "POST", body: JSON.stringify(body) });
}

function drawBars(panel, weights, caption) {
  let rows = weights;
  let note = `${caption} · ${weights.length} history items, oldest first`;
  if (weights.length > MAX_BARS) {
    const strongest = [...weights].sort((a, b) => Math.abs(b.weight) - Math.abs(a.weight)).slice(0, MAX_BARS);
    rows = strongest.sort((a, b) => a.position - b.position);
    note = `${caption} · the ${MAX_BARS} of ${weights.length} history items with the largest weight, oldest first`;
  }
  const scale = Math.max(...rows.map((w) => Math.abs(w.weight)), 1e-12);
  const bars = document.createElement("div");
  bars.className = "bars";
  for (const w of rows) {
    const row = document.createElement("div");
    row.className = "bar-row";
    row.title = `position ${w.position}`;
    const width = (100 * Math.abs(w.weight)) / scale;
    row.innerHTML =
      `<span class="bar-title">${esc(label(w.item, w.title))}</span>` +
      `<span class="bar-track"><span class="bar${w.weight < 0 ? " neg" : ""}" style="width:${width.toFixed(1)}%"></span></span>` +
      `<span class="bar-value">${w.weight.toFixed(3)}</span>`;
    row.querySelector(".bar").dataset.weight = String(w.weight);
    bars.appendChild(row);
  }
  panel.appendChild(bars);
  panel.insertAdjacentHTML("beforeend", `<p class="caption">${esc(note)}</p>`);
}

function redrawOpen() {
  for (const li of document.querySelectorAll("li.rec")) {
    if (!li.querySelector(".why-panel").hidden) drawWhy(li);
  }
}

function setupExplainControls(info) {
  state.methods = info.explanation_methods || [];
  if (!state.methods.length) return;
  const method = $("method");
  for (const name of state.methods) method.add(new Option(name, name));
  $("explain-controls").hidden = false;
  method.addEventListener("change", async () => {
    await refresh(); // the "because" lines follow the method too
  });
  const att = info.attention;
  if (!att) return;
  $("attention-controls").hidden = false;
  for (let l = 0; l < att.num_layers; l++) $("layer").add(new Option(`${l}`, `${l}`));
  for (let h = 0; h < att.num_heads; h++) $("head").add(new Option(`${h}`, `${h}`));
  $("layer").addEventListener("change", () => {
    if ($("layer").value === "") $("head").value = "";
    $("head").disabled = $("layer").value === "";
    $("method").disabled = $("layer").value !== "";
    redrawOpen();
  });
  $("head").addEventListener("change", redrawOpen);
}

async function loadHistory() {
  const data = await api(`/users/${encodeURIComponent(state.user)}/history?limit=15`);
  const list = $("history");
  list.innerHTML = "";
  for (const it of data.training) {
    const li = document.createElement("li");
    li.textContent = label(it.item, it.title);
    list.appendChild(li);
  }
  for (const ev of data.events) {
    const li = document.createElement("li");
    li.className = "event";
    li.textContent = `${label(ev.item)} (new event)`;
    list.appendChild(li);
  }
  list.scrollTop = list.scrollHeight; // most recent in view
}

function renderSession() {
  const box = $("session-items");
  box.innerHTML = "";
  const list = $("history");
  list.innerHTML = "";
  state.session.forEach((item, pos) => {
    const chip = document.createElement("span");
    chip.className = "chip";
    chip.title = "remove";
    chip.textContent = `${label(item)} ×`;
    chip.addEventListener("click", () => {
      state.session.splice(pos, 1);
      refresh();
    });
    box.appendChild(chip);
    const li = document.createElement("li");
    li.textContent = label(item);
    list.appendChild(li);
  });
}

async function addItem(item, title) {
  label(item, title);
  if (state.mode === "session") {
    state.session.push(item);
    return refresh();
  }
  if (!state.user) return setStatus("pick a user first", true);
  try {
    await api("/events", { method: "POST", body: JSON.stringify({ user: state.user, item }) });
    await refresh();
    setStatus(`event stored: ${state.user} → ${label(item)} · ${$("status").textContent}`);
  } catch (err) {
    setStatus(err.message, true);
  }
}

function selectUser(user) {
  state.user = user.trim();
  $("user-id").value = state.user;
  refresh();
}

async function search() {
  const query = $("search").value;
  try {
    const data = await api(`/items?query=${encodeURIComponent(query)}&limit=12`);
    const list = $("search-results");
    list.innerHTML = "";
    for (const it of data.items) {
      const li = document.createElement("li");
      li.innerHTML = `<span>${esc(label(it.item, it.title))}</span>`;
      const button = document.createElement("button");
      button.className = "small secondary add-search";
      button.textContent = "+ add";
      button.addEventListener("click", () => addItem(it.item, it.title));
      li.appendChild(button);
      list.appendChild(li);
    }
  } catch (err) {
    setStatus(err.message, true);
  }
}

function setMode(mode) {
  state.mode = mode;
  $("tab-user").classList.toggle("active", mode === "user");
  $("tab-session").classList.toggle("active", mode === "session");
  $("user-pane").hidden = mode !== "user";
  $("session-pane").hidden = mode !== "session";
  $("recs").innerHTML = "";
  $("history").innerHTML = "";
  search();
  refresh();
}

// Served as one of several cases: a switch to the others (each under "../NAME/").
function setupCaseSwitch(caseInfo) {
  if (!caseInfo || !caseInfo.cases.length) return;
  const select = $("case-switch");
  for (const c of caseInfo.cases) {
    const option = document.createElement("option");
    option.value = c.name;
    option.textContent = c.title;
    option.selected = c.name === caseInfo.name;
    select.appendChild(option);
  }
  select.addEventListener("change", () => { location.href = `../${encodeURIComponent(select.value)}/`; });
  $("case-box").hidden = false;
  document.title = `ssl4rec — ${caseInfo.title}`;
  if (caseInfo.question) {
    $("case-question").textContent = caseInfo.question;
    $("case-question").hidden = false;
  }
}

async function init() {
  try {
    const info = await api("/model-info");
    $("model-info").textContent =
      `${info.class} · ${info.num_users} users · ${info.num_items} items · explanations: ${(info.explanation_methods || []).join(", ") || "none"}`;
    setupExplainControls(info);
    setupCaseSwitch(info.case);
    const users = await api("/users?limit=12");
    const chips = $("user-chips");
    for (const u of [...users.recent, ...users.users].slice(0, 12)) {
      const chip = document.createElement("span");
      chip.className = "chip user-chip";
      chip.textContent = u;
      chip.addEventListener("click", () => selectUser(u));
      chips.appendChild(chip);
    }
    state.total = users.total;
  } catch (err) {
    $("model-info").textContent = err.message;
  }
  $("load-user").addEventListener("click", () => selectUser($("user-id").value));
  $("user-id").addEventListener("keydown", (e) => { if (e.key === "Enter") selectUser($("user-id").value); });
  $("random-user").addEventListener("click", async () => {
    const offset = Math.floor(Math.random() * Math.max(state.total || 1, 1));
    const data = await api(`/users?limit=1&offset=${offset}`);
    if (data.users.length) selectUser(data.users[0]);
  });
  $("tab-user").addEventListener("click", () => setMode("user"));
  $("tab-session").addEventListener("click", () => setMode("session"));
  $("clear-session").addEventListener("click", () => { state.session = []; refresh(); });
  let timer = null;
  $("search").addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(search, 150); });
  search();
}

init();
