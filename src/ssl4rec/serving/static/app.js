// ssl4rec web page: pick a user or build a session, see explained
// recommendations, add events. Plain JS, no build step.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { mode: "user", user: null, session: [], k: 10, titles: {} };

function esc(text) {
  const span = document.createElement("span");
  span.textContent = text == null ? "" : String(text);
  return span.innerHTML;
}

function label(item, title) {
  if (title) state.titles[item] = title;
  return state.titles[item] || item;
}

async function api(path, options = {}) {
  const headers = { "Content-Type": "application/json" };
  const key = $("api-key").value.trim();
  if (key) headers["X-API-Key"] = key;
  const response = await fetch(path, { ...options, headers });
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
    li.innerHTML =
      `<div class="rec-head"><span class="title">${esc(label(rec.item, rec.title))}</span>` +
      `<span class="score">score ${rec.score.toFixed(3)}</span></div>` +
      `<div class="because">${because ? "because you liked " + because : data.fallback ? "popular with everyone" : "no single history item stands out"}</div>` +
      `<button class="small add-event" title="Record that this item was consumed">+ add event</button>`;
    li.querySelector(".add-event").addEventListener("click", () => addItem(rec.item, rec.title));
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
      data = await api(`/users/${encodeURIComponent(state.user)}/recommendations?k=${state.k}&explain=true`);
      await loadHistory();
    } else {
      data = await api("/recommendations", {
        method: "POST",
        body: JSON.stringify({ items: state.session, k: state.k, explain: true }),
      });
      renderSession();
    }
    renderRecs(data, previous.size ? previous : null);
  } catch (err) {
    setStatus(err.message, true);
  }
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

async function init() {
  try {
    const info = await api("/model-info");
    $("model-info").textContent =
      `${info.class} · ${info.num_users} users · ${info.num_items} items · explanations: ${info.explanation_method}`;
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
