// The cube-emulator web UI: a page over the admin API (/_emulator/...).
// Everything it shows comes from that API; data is written into the page
// as text only (never as markup), and the page calls nothing else.

const TOKEN_KEY = "cube-emulator.admin-token";
const APP_KEY = "cube-emulator.app";
const PAGE_SIZE = 25;

const $ = (selector) => document.querySelector(selector);

/** One element with attributes and children (strings become text). */
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// ---- the admin API ----

class NeedToken extends Error {}

class ApiFailure extends Error {
  constructor(method, path, status, body) {
    super(`${method} ${path}: ${status} ${describeErrors(body)}`);
    this.status = status;
    this.errors = (body && body.errors) || {};
  }
}

function describeErrors(body) {
  const errors = body && body.errors;
  if (!errors || typeof errors !== "object") return "";
  return Object.entries(errors)
    .map(([field, messages]) => (field === "base" ? "" : field + " ") + [].concat(messages).join(", "))
    .join("; ");
}

function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

async function request(method, path, body) {
  const headers = {};
  if (token()) headers.Authorization = "Bearer " + token();
  const init = { method, headers, cache: "no-store", credentials: "omit" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch("/_emulator" + path, init);
  if (response.status === 401) throw new NeedToken("the admin token is missing or wrong");
  return response;
}

/** A JSON call; `null` for an empty answer. */
async function api(method, path, body) {
  const response = await request(method, path, body);
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) throw new ApiFailure(method, path, response.status, data);
  return data;
}

// ---- status line ----

function say(message, kind = "ok") {
  const status = $("#status");
  status.textContent = message;
  status.className = kind;
  status.hidden = false;
}

function fail(error) {
  if (error instanceof NeedToken) {
    askForToken(token() ? "That token was refused." : "");
    return;
  }
  say(error.message || String(error), "error");
}

/** Runs an action, reporting its failure in the status line. */
function guarded(action) {
  return async (event) => {
    if (event && event.preventDefault) event.preventDefault();
    try {
      await action(event);
    } catch (error) {
      fail(error);
    }
  };
}

document.addEventListener("securitypolicyviolation", (event) => {
  say(`Blocked by the page's security policy: ${event.violatedDirective} ${event.blockedURI}`, "error");
});

// ---- the admin token ----

function askForToken(problem) {
  showView("token");
  const error = $("#token-error");
  error.textContent = problem;
  error.hidden = !problem;
  $("#token-input").focus();
}

$("#token-form").addEventListener("submit", guarded(async () => {
  sessionStorage.setItem(TOKEN_KEY, $("#token-input").value);
  $("#token-input").value = "";
  $("#status").hidden = true;
  await boot();
}));

// ---- applications and the current one ----

let apps = [];

function currentApp() {
  return $("#app-select").value;
}

async function loadApps() {
  apps = (await api("GET", "/apps")).items;
  const select = $("#app-select");
  const wanted = sessionStorage.getItem(APP_KEY) || select.value;
  select.replaceChildren(...apps.map((a) => el("option", { value: a.id, text: `${a.id} · ${a.auth_key}` })));
  if (apps.some((a) => String(a.id) === wanted)) select.value = wanted;
}

$("#app-select").addEventListener("change", () => {
  sessionStorage.setItem(APP_KEY, currentApp());
  usersOffset = 0;
  route();
});

// ---- views and routing ----

const VIEWS = ["token", "apps", "users", "user", "sessions", "requests", "faults", "outbox", "clock", "data"];

function showView(name) {
  for (const view of VIEWS) $("#view-" + view).hidden = view !== name;
  const tab = name === "user" ? "users" : name;
  for (const link of document.querySelectorAll("#nav a")) {
    link.classList.toggle("active", link.dataset.view === tab);
  }
}

async function route() {
  const [view, id] = location.hash.replace(/^#\/?/, "").split("/");
  try {
    switch (view) {
      case "apps":
        showView("apps");
        return await renderApps();
      case "users":
        if (id) {
          showView("user");
          return await renderUser(id);
        }
        showView("users");
        return await renderUsers();
      case "sessions":
        showView("sessions");
        return await renderAllSessions();
      case "requests":
        showView("requests");
        return await pollRequests();
      case "faults":
        showView("faults");
        return await renderFaults();
      case "outbox":
        showView("outbox");
        return await renderOutbox();
      case "clock":
        showView("clock");
        return await refreshClock();
      case "data":
        showView("data");
        return;
      default:
        location.hash = "#/users";
    }
  } catch (error) {
    fail(error);
  }
}

window.addEventListener("hashchange", route);

// ---- applications and settings ----

const SETTINGS = [
  ["Sessions", "session_without_user", "choice", "A login + password session for an unknown login",
    [["allow", "creates that user"], ["deny", "is refused"]]],
  ["Sessions", "require_signature", "bool", "Signature required (unsigned POST /session is refused)"],
  ["Sessions", "signature_window_seconds", "int", "Signature window, seconds"],
  ["Listing users", "list_users", "bool", "User lists and searches answer"],
  ["Listing users", "list_users_v1", "bool", "The deprecated v1 list (GET /users) answers (ConnectyCube has it off by default)"],
  ["Identity providers", "cidp", "json", "Custom identity provider: {\"url\", \"request_params\", \"response_params\"}, empty for none"],
  ["Identity providers", "facebook_graph_url", "url", "Facebook Graph API URL (empty: the built-in fake)"],
  ["Identity providers", "twitter_api_url", "url", "Twitter API URL (empty: the built-in fake)"],
  ["Identity providers", "twitter_consumer_key", "text", "Twitter consumer key"],
  ["Identity providers", "twitter_consumer_secret", "text", "Twitter consumer secret"],
  ["Identity providers", "firebase_jwks", "json", "Firebase key set (JWK set), empty for none"],
  ["Identity providers", "firebase_jwks_url", "url", "Firebase key set URL, empty for none"],
  ["Identity providers", "firebase_accept_unsigned", "bool", "Accept unsigned Firebase ID tokens (the Firebase Auth Emulator's)"],
];

let loadedSettings = {};

function settingKind(key, value) {
  const known = SETTINGS.find((s) => s[1] === key);
  if (known) return known;
  const kind = typeof value === "boolean" ? "bool" : Number.isInteger(value) ? "int"
    : value !== null && typeof value === "object" ? "json" : "text";
  return ["Other", key, kind, key];
}

function settingInput(key, kind, value, choices) {
  const id = "setting-" + key;
  switch (kind) {
    case "bool":
      return el("input", { id, name: key, type: "checkbox", checked: value === true });
    case "choice":
      return el("select", { id, name: key },
        choices.map(([v, label]) => el("option", { value: v, selected: v === value, text: label })));
    case "json":
      return el("textarea", { id, name: key, rows: 4, spellcheck: "false",
        text: value === null ? "" : JSON.stringify(value, null, 2) });
    default:
      return el("input", { id, name: key, inputmode: kind === "int" ? "numeric" : undefined,
        value: value === null ? "" : String(value) });
  }
}

async function renderApps() {
  await loadApps();
  $("#apps-table tbody").replaceChildren(...apps.map((a) => el("tr",
    { class: String(a.id) === currentApp() ? "selected" : "" },
    el("td", { text: a.id }), el("td", { text: a.auth_key }),
    el("td", {}, el("button", { type: "button", class: "secondary",
      onclick: () => { $("#app-select").value = String(a.id); $("#app-select").dispatchEvent(new Event("change")); },
      text: "Show settings" })))));
  await renderSettings();
}

async function renderSettings() {
  const app = currentApp();
  $("#settings-title").textContent = `Settings of application ${app}`;
  loadedSettings = (await api("GET", `/apps/${app}/settings`)).settings;
  const groups = new Map();
  // Known settings in their order, then any this page does not know yet.
  const keys = [...SETTINGS.map((s) => s[1]).filter((k) => k in loadedSettings),
    ...Object.keys(loadedSettings).filter((k) => !SETTINGS.some((s) => s[1] === k))];
  for (const key of keys) {
    const value = loadedSettings[key];
    const [group, , kind, label, choices] = settingKind(key, value);
    if (!groups.has(group)) groups.set(group, []);
    groups.get(group).push(el("div", { class: "field " + kind },
      el("label", { for: "setting-" + key, text: label }),
      settingInput(key, kind, value, choices),
      el("p", { class: "field-error", "data-for": key, hidden: true })));
  }
  const order = ["Sessions", "Listing users", "Identity providers", "Other"];
  $("#settings-fields").replaceChildren(...order.filter((g) => groups.has(g)).map((g) =>
    el("fieldset", {}, el("legend", { text: g }), groups.get(g))));
}

/** The settings the form changed, as the admin API takes them. */
function changedSettings() {
  const changes = {};
  const problems = {};
  for (const [key, before] of Object.entries(loadedSettings)) {
    const input = document.getElementById("setting-" + key);
    const [, , kind] = settingKind(key, before);
    let after;
    if (kind === "bool") after = input.checked;
    else if (kind === "json") {
      const text = input.value.trim();
      try {
        after = text === "" ? null : JSON.parse(text);
      } catch {
        problems[key] = ["is not valid JSON"];
        continue;
      }
    } else if (kind === "int") {
      // Sent as typed: the emulator judges it.
      after = /^-?\d+$/.test(input.value.trim()) ? Number(input.value.trim()) : input.value;
    } else if (kind === "url") after = input.value.trim() === "" ? null : input.value.trim();
    else after = input.value;
    if (JSON.stringify(after) !== JSON.stringify(before)) changes[key] = after;
  }
  return { changes, problems };
}

function showFieldErrors(form, errors) {
  for (const p of form.querySelectorAll(".field-error")) {
    const messages = errors[p.dataset.for];
    p.textContent = messages ? [].concat(messages).join(", ") : "";
    p.hidden = !messages;
  }
}

$("#settings-form").addEventListener("submit", guarded(async () => {
  const form = $("#settings-form");
  const { changes, problems } = changedSettings();
  showFieldErrors(form, problems);
  if (Object.keys(problems).length) return say("Some settings need fixing.", "error");
  if (!Object.keys(changes).length) return say("Nothing to save.");
  try {
    await api("PUT", `/apps/${currentApp()}/settings`, changes);
  } catch (error) {
    if (error instanceof ApiFailure && error.status === 422) {
      showFieldErrors(form, error.errors);
      return say("The emulator refused these settings; nothing was changed.", "error");
    }
    throw error;
  }
  await renderSettings();
  say(`Saved: ${Object.keys(changes).join(", ")}.`);
}));

$("#settings-reload").addEventListener("click", guarded(renderSettings));

// ---- avatars ----

/** Object URLs of fetched avatars, by file uid, for this page's life. */
const avatars = new Map();

function avatarUrl(uid) {
  if (!avatars.has(uid)) {
    avatars.set(uid, request("GET", "/blobs/" + encodeURIComponent(uid)).then(async (response) => {
      if (!response.ok) throw new Error("no such file");
      return URL.createObjectURL(await response.blob());
    }));
  }
  return avatars.get(uid);
}

/** The user's avatar as an image, or their initial. */
function avatar(user, size) {
  const initial = (user.full_name || user.login || user.email || "?").trim().charAt(0).toUpperCase() || "?";
  const placeholder = el("span", { class: `avatar placeholder size-${size}`, text: initial,
    title: user.avatar || "no avatar" });
  const file = user.avatar;
  if (!file || /^[a-z][a-z0-9+.-]*:/i.test(file)) return placeholder;
  const image = el("img", { class: `avatar size-${size}`, alt: `avatar of user ${user.id}`, width: size, height: size });
  avatarUrl(file).then((url) => {
    image.addEventListener("load", () => { image.dataset.loaded = "true"; }, { once: true });
    image.src = url;
    placeholder.replaceWith(image);
  }).catch(() => { placeholder.classList.add("missing"); });
  return placeholder;
}

// ---- users ----

let usersOffset = 0;
let usersTotal = 0;

function searchQuery() {
  const params = new URLSearchParams();
  for (const input of $("#user-search").querySelectorAll("input")) {
    if (input.value.trim()) params.set(input.name, input.value.trim());
  }
  params.set("offset", usersOffset);
  params.set("limit", PAGE_SIZE);
  return params.toString();
}

function when(iso) {
  return iso ? iso.replace("T", " ") : "—";
}

async function renderUsers() {
  const page = await api("GET", `/apps/${currentApp()}/users?${searchQuery()}`);
  usersTotal = page.total_entries;
  const rows = page.items.map((u) => el("tr", { "data-user-id": u.id, tabindex: 0,
    onclick: () => { location.hash = `#/users/${u.id}`; },
    onkeydown: (e) => { if (e.key === "Enter") location.hash = `#/users/${u.id}`; } },
  el("td", {}, avatar(u, 32)),
  el("td", { text: u.id }),
  el("td", { class: "login", text: u.login || (u.is_guest ? "(guest)" : "—") }),
  el("td", { class: "email", text: u.email || "—" }),
  el("td", { class: "full-name", text: u.full_name || "—" }),
  el("td", {}, (u.user_tags || "").split(",").filter(Boolean).map((t) => el("span", { class: "tag", text: t }))),
  el("td", { text: when(u.last_request_at) })));
  if (!rows.length) rows.push(el("tr", {}, el("td", { colspan: 7, class: "muted", text: "No users match." })));
  $("#users-table tbody").replaceChildren(...rows);
  const first = page.items.length ? usersOffset + 1 : 0;
  $("#users-range").textContent = `${first}–${usersOffset + page.items.length} of ${usersTotal}`;
  $("#users-prev").disabled = usersOffset === 0;
  $("#users-next").disabled = usersOffset + page.items.length >= usersTotal;
}

$("#user-search").addEventListener("submit", guarded(async () => {
  usersOffset = 0;
  await renderUsers();
}));
$("#user-search-clear").addEventListener("click", guarded(async () => {
  for (const input of $("#user-search").querySelectorAll("input")) input.value = "";
  usersOffset = 0;
  await renderUsers();
}));
$("#users-prev").addEventListener("click", guarded(async () => {
  usersOffset = Math.max(0, usersOffset - PAGE_SIZE);
  await renderUsers();
}));
$("#users-next").addEventListener("click", guarded(async () => {
  usersOffset += PAGE_SIZE;
  await renderUsers();
}));

// ---- one user ----

const USER_FIELDS = [
  ["login", "Login"],
  ["email", "E-mail"],
  ["full_name", "Full name"],
  ["phone", "Phone"],
  ["website", "Website"],
  ["tag_list", "Tags (comma-separated, at most 5)"],
  ["avatar", "Avatar (file uid)"],
  ["blob_id", "Blob id", "int"],
  ["timezone", "Timezone", "int"],
  ["external_user_id", "External user id"],
  ["external_id", "External id"],
  ["facebook_id", "Facebook id"],
  ["twitter_id", "Twitter id"],
  ["custom_data", "Custom data", "long"],
];

let shownUser = null;

function fieldValue(user, key) {
  const value = key === "tag_list" ? user.user_tags : user[key];
  return value === null || value === undefined ? "" : String(value);
}

async function renderUser(id) {
  const { user } = await api("GET", `/apps/${currentApp()}/users/${encodeURIComponent(id)}`);
  shownUser = user;
  $("#user-delete-confirm").hidden = true;
  $("#user-avatar-slot").replaceChildren(avatar(user, 96));
  $("#user-title").textContent = user.full_name || user.login || user.email || `User ${user.id}`;
  $("#user-facts").textContent = [
    `id ${user.id}`,
    user.is_guest ? "guest" : null,
    `created ${when(user.created_at)}`,
    `updated ${when(user.updated_at)}`,
    `last request ${when(user.last_request_at)}`,
  ].filter(Boolean).join(" · ");
  $("#user-fields").replaceChildren(...USER_FIELDS.map(([key, label, kind]) => el("div", { class: "field" },
    el("label", { for: "user-" + key, text: label }),
    kind === "long"
      ? el("textarea", { id: "user-" + key, name: key, rows: 3, text: fieldValue(user, key) })
      : el("input", { id: "user-" + key, name: key, value: fieldValue(user, key) }),
    el("p", { class: "field-error", "data-for": key, hidden: true }))));
  showFieldErrors($("#user-form"), {});
  await renderSessions();
}

/** The profile fields the form changed; an emptied field is cleared. */
function changedProfile() {
  const changes = {};
  for (const [key, , kind] of USER_FIELDS) {
    const input = document.getElementById("user-" + key);
    if (input.value === fieldValue(shownUser, key)) continue;
    const text = input.value.trim();
    if (text === "") changes[key] = null;
    else if (kind === "int" && /^-?\d+$/.test(text)) changes[key] = Number(text);
    else changes[key] = kind === "long" ? input.value : text;
  }
  return changes;
}

$("#user-form").addEventListener("submit", guarded(async () => {
  const changes = changedProfile();
  if (!Object.keys(changes).length) return say("Nothing to save.");
  const path = `/apps/${currentApp()}/users/${shownUser.id}`;
  try {
    await api("PUT", path, { user: changes });
  } catch (error) {
    if (error instanceof ApiFailure && error.status === 422) {
      showFieldErrors($("#user-form"), error.errors);
      return say("The emulator refused these changes; nothing was saved.", "error");
    }
    throw error;
  }
  await renderUser(shownUser.id);
  say(`Saved user ${shownUser.id}: ${Object.keys(changes).join(", ")}.`);
}));

$("#user-delete").addEventListener("click", () => { $("#user-delete-confirm").hidden = false; });
$("#user-delete-no").addEventListener("click", () => { $("#user-delete-confirm").hidden = true; });
$("#user-delete-yes").addEventListener("click", guarded(async () => {
  const id = shownUser.id;
  await api("DELETE", `/apps/${currentApp()}/users/${id}`);
  location.hash = "#/users";
  say(`Deleted user ${id} and their sessions.`);
}));

async function renderSessions() {
  const query = new URLSearchParams({ app_id: currentApp(), user_id: shownUser.id });
  const answer = await api("GET", `/sessions?${query}`);
  fillSessions($("#sessions-table tbody"), answer, false, renderSessions);
}

$("#sessions-refresh").addEventListener("click", guarded(renderSessions));

// ---- sessions of the application ----

/** h:mm:ss, or "expired". */
function countdown(seconds) {
  if (seconds <= 0) return "expired";
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.floor(seconds % 60);
  return `${h}:${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}`;
}

/**
 * Fills `tbody` with the sessions of a `GET /_emulator/sessions` answer:
 * each with a live countdown to its deadline and its two buttons
 * (expire, destroy); `withUser` adds the user's column; `refresh` runs
 * after a button did its work.
 */
function fillSessions(tbody, answer, withUser, refresh) {
  // The deadlines are on the emulator's clock: count down against it.
  const skew = Date.parse(answer.now) - Date.now();
  const action = (label, method, path, done) => el("button", { type: "button", class: "secondary",
    onclick: guarded(async () => { await api(method, path); await refresh(); say(done); }), text: label });
  const rows = answer.items.map((s) => el("tr", { "data-session-id": s.id },
    el("td", { text: s.id }),
    el("td", { text: s.kind }),
    withUser ? el("td", {}, s.user_id === null ? "—"
      : el("a", { href: `#/users/${s.user_id}`, text: s.user_id })) : null,
    el("td", { class: "fingerprint", text: s.fingerprint }),
    el("td", { text: s.signed ? "yes" : "no" }),
    el("td", { text: when(s.created_at) }),
    el("td", { text: when(s.last_request_at) }),
    el("td", { text: when(s.deadline) }),
    el("td", { class: "countdown", "data-deadline": Date.parse(s.deadline), "data-skew": skew,
      text: countdown(s.seconds_left) }),
    el("td", { class: "row-actions" },
      action("Expire", "POST", `/sessions/${s.id}/expire`, `Session ${s.id} expired.`),
      action("Destroy", "DELETE", `/sessions/${s.id}`, `Session ${s.id} destroyed.`))));
  const columns = withUser ? 10 : 9;
  if (!rows.length) rows.push(el("tr", {}, el("td", { colspan: columns, class: "muted", text: "No live sessions." })));
  tbody.replaceChildren(...rows);
}

/** Moves every countdown on the page on by the time that passed. */
function tickCountdowns() {
  let ended = false;
  for (const cell of document.querySelectorAll("td.countdown")) {
    const left = (Number(cell.dataset.deadline) - (Date.now() + Number(cell.dataset.skew))) / 1000;
    cell.textContent = countdown(Math.ceil(left));
    if (left <= 0 && !cell.closest(".view").hidden) ended = true;
  }
  // A session whose time is up is gone: show the list as it now is.
  if (ended && !$("#view-sessions").hidden) renderAllSessions().catch(fail);
}

async function renderAllSessions() {
  const answer = await api("GET", `/sessions?${new URLSearchParams({ app_id: currentApp() })}`);
  fillSessions($("#all-sessions-table tbody"), answer, true, renderAllSessions);
  const shown = answer.items.length;
  $("#all-sessions-count").textContent = shown < answer.total_entries
    ? `the newest ${shown} of ${answer.total_entries}` : `${shown} live`;
}

$("#all-sessions-refresh").addEventListener("click", guarded(renderAllSessions));

// ---- requests ----

/** The newest `seq` shown; the next poll asks for what came after it. */
let requestsSeen = 0;
const REQUESTS_SHOWN = 500;
let polling = false;

async function pollRequests() {
  if (polling) return;
  polling = true;
  try {
    const answer = await api("GET", `/requests?since=${requestsSeen}&limit=200`);
    const tbody = $("#requests-table tbody");
    // Fewer than seen: another emulator answers now. Start over.
    if (answer.last < requestsSeen) {
      requestsSeen = 0;
      tbody.replaceChildren();
      return;
    }
    const rows = answer.items.map((r) => el("tr", { "data-seq": r.seq,
      class: r.status >= 500 ? "status-5xx" : r.status >= 400 ? "status-4xx" : "" },
    el("td", { text: r.seq }),
    el("td", { text: when(r.at) }),
    el("td", { text: r.method }),
    el("td", { class: "path", text: r.path }),
    el("td", { text: r.status }),
    el("td", { text: (r.duration_us / 1000).toFixed(1) }),
    el("td", { text: r.app_id ?? "—" }),
    el("td", {}, r.user_id === null ? "—" : el("a", { href: `#/users/${r.user_id}`, text: r.user_id })),
    el("td", { class: "fingerprint", text: r.session ?? "—" }),
    el("td", { class: "fault" }, r.fault
      ? el("a", { href: "#/faults", title: `fault rule ${r.fault.rule}`, text: `#${r.fault.rule} ${r.fault.effect}` })
      : "—")));
    tbody.prepend(...rows);
    while (tbody.rows.length > REQUESTS_SHOWN) tbody.lastElementChild.remove();
    requestsSeen = Math.max(requestsSeen, answer.last);
    $("#requests-count").textContent = `${answer.last} logged since the emulator started; it keeps the last ${answer.capacity}.`;
  } finally {
    polling = false;
  }
}

$("#requests-clear").addEventListener("click", () => { $("#requests-table tbody").replaceChildren(); });

/** Every second, what changed: new requests, and the session lists' countdowns. */
function followLive() {
  tickCountdowns();
  if (!$("#view-requests").hidden && $("#requests-follow").checked) pollRequests().catch(fail);
}

// ---- faults ----

async function renderFaults() {
  const { items } = await api("GET", "/faults");
  const rows = items.map((f) => el("tr", { "data-fault-id": f.id, class: f.spent ? "spent" : "" },
    el("td", { text: f.id }),
    el("td", {}, el("code", { class: "fault-text", text: f.text })),
    el("td", { class: "matched", text: f.matched }),
    el("td", { class: "fired", text: f.fired }),
    el("td", { text: f.spent ? "spent" : "active" }),
    el("td", { class: "row-actions" }, el("button", { type: "button", class: "secondary",
      onclick: guarded(async () => {
        await api("DELETE", `/faults/${f.id}`);
        await renderFaults();
        say(`Fault rule ${f.id} removed.`);
      }), text: "Remove" }))));
  if (!rows.length) rows.push(el("tr", {}, el("td", { colspan: 6, class: "muted", text: "No fault rules: every request is served." })));
  $("#faults-table tbody").replaceChildren(...rows);
  $("#faults-count").textContent = `${items.length} rule${items.length === 1 ? "" : "s"}`;
}

$("#fault-form").addEventListener("submit", guarded(async () => {
  const text = $("#fault-text").value.trim();
  const error = $("#fault-error");
  let added;
  try {
    added = (await api("POST", "/faults", { text })).fault;
  } catch (failure) {
    if (failure instanceof ApiFailure && failure.status === 422) {
      error.textContent = describeErrors({ errors: failure.errors });
      error.hidden = false;
      return say("The emulator refused this rule; nothing was added.", "error");
    }
    throw failure;
  }
  error.hidden = true;
  $("#fault-text").value = "";
  await renderFaults();
  say(`Added fault rule ${added.id}: ${added.text}`);
}));

$("#faults-refresh").addEventListener("click", guarded(renderFaults));
$("#faults-clear").addEventListener("click", guarded(async () => {
  const { removed } = await api("DELETE", "/faults");
  await renderFaults();
  say(`Removed ${removed} fault rule${removed === 1 ? "" : "s"}: every request is served.`);
}));

// ---- outbox ----

async function renderOutbox() {
  const { items } = await api("GET", "/outbox");
  const rows = items.slice().reverse().map((m) => el("tr", {},
    el("td", { text: when(m.created_at) }),
    el("td", { text: m.to }),
    el("td", { text: m.subject }),
    el("td", {}, /^https?:\/\//.test(m.link)
      ? el("a", { class: "reset-link", href: m.link, target: "_blank", rel: "noopener noreferrer", text: m.link })
      : m.link)));
  if (!rows.length) rows.push(el("tr", {}, el("td", { colspan: 4, class: "muted", text: "No e-mail yet." })));
  $("#outbox-table tbody").replaceChildren(...rows);
}

$("#outbox-refresh").addEventListener("click", guarded(renderOutbox));
$("#outbox-clear").addEventListener("click", guarded(async () => {
  await api("DELETE", "/outbox");
  await renderOutbox();
  say("The outbox is empty.");
}));

// ---- clock ----

/** Emulator time minus this computer's, in milliseconds. */
let clockSkew = null;

/** A span of time to the nearest minute: "1 d 2 h 5 min". */
function duration(seconds) {
  const sign = seconds < 0 ? "-" : "";
  let minutes = Math.round(Math.abs(seconds) / 60);
  const days = Math.floor(minutes / 1440);
  minutes -= days * 1440;
  const hours = Math.floor(minutes / 60);
  minutes -= hours * 60;
  return sign + [days && `${days} d`, hours && `${hours} h`, `${minutes} min`].filter(Boolean).join(" ");
}

function showClock(now) {
  clockSkew = Date.parse(now) - Date.now();
  tick();
}

function tick() {
  if (clockSkew === null) return;
  const text = new Date(Date.now() + clockSkew).toISOString().replace(/\.\d+Z$/, "Z");
  $("#clock-badge").textContent = text.replace("T", " ");
  $("#clock-now").textContent = text;
  const ahead = clockSkew / 1000;
  $("#clock-offset").textContent = Math.abs(ahead) < 30
    ? "In step with this computer's clock."
    : `${duration(Math.abs(ahead))} ${ahead > 0 ? "ahead of" : "behind"} this computer's clock.`;
}

async function refreshClock() {
  showClock((await api("GET", "/clock")).now);
}

async function advance(seconds) {
  const { now } = await api("POST", "/clock/advance", { seconds });
  showClock(now);
  say(`Clock moved by ${duration(seconds)}: now ${now}.`);
}

for (const button of document.querySelectorAll("[data-advance]")) {
  button.addEventListener("click", guarded(() => advance(Number(button.dataset.advance))));
}
$("#advance-form").addEventListener("submit", guarded(async () => {
  const amount = Number($("#advance-amount").value);
  if (!Number.isInteger(amount) || amount === 0) return say("Enter a whole, non-zero amount.", "error");
  await advance(amount * Number($("#advance-unit").value));
}));

// ---- data ----

$("#wipe-start").addEventListener("click", () => {
  $("#wipe-confirm").hidden = false;
  $("#wipe-text").value = "";
  $("#wipe-confirm-button").disabled = true;
  $("#wipe-text").focus();
});
$("#wipe-text").addEventListener("input", () => {
  $("#wipe-confirm-button").disabled = $("#wipe-text").value.trim() !== "WIPE";
});
$("#wipe-cancel").addEventListener("click", () => { $("#wipe-confirm").hidden = true; });
$("#wipe-confirm").addEventListener("submit", guarded(async () => {
  if ($("#wipe-text").value.trim() !== "WIPE") return;
  await api("DELETE", "/data");
  $("#wipe-confirm").hidden = true;
  avatars.clear();
  say("Every user, session, file and e-mail is gone.");
}));

// ---- start ----

let ticking = false;

/** Loads what every view needs, then shows the one the address names. */
async function boot() {
  await loadApps();
  await refreshClock();
  if (!ticking) {
    ticking = true;
    setInterval(tick, 1000);
    setInterval(followLive, 1000);
    // New sessions appear without a click.
    setInterval(() => {
      if (!$("#view-sessions").hidden) renderAllSessions().catch(fail);
    }, 5000);
    // The clock runs at this computer's pace; re-read it now and then in
    // case another client moved it.
    setInterval(() => refreshClock().catch(() => {}), 15000);
  }
  await route();
}

boot().catch(fail);
