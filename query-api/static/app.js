// Order lookup page. Every value from the server goes into the page through textContent (the
// `h` helper), never as HTML, so an order's strings cannot inject markup or script.
// The API wants a bearer token: when it answers 401 (or 403) the page asks for one, keeps it in
// sessionStorage (this tab only: never localStorage or a cookie) and can forget it.
"use strict";

const UID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const TOKEN_KEY = "orders.token";

function storedToken() {
  try { return sessionStorage.getItem(TOKEN_KEY); } catch (_) { return null; }
}

function storeToken(token) {
  try { sessionStorage.setItem(TOKEN_KEY, token); } catch (_) { /* storage disabled: ask again next time */ }
  syncTokenControls();
}

function dropToken() {
  try { sessionStorage.removeItem(TOKEN_KEY); } catch (_) { /* nothing stored */ }
  syncTokenControls();
}

/** fetch() with the stored token as the bearer credential. */
function api(path, signal) {
  const headers = { accept: "application/json" };
  const token = storedToken();
  if (token) headers.authorization = `Bearer ${token}`;
  return fetch(path, { headers, signal, credentials: "omit", cache: "no-store" });
}

function syncTokenControls() {
  $("forget-token").hidden = !storedToken();
}

/** Shows the token form with why it is needed. */
function askForToken(message, bad) {
  const why = $("token-why");
  why.textContent = message;
  why.classList.toggle("bad", Boolean(bad));
  $("token-form").hidden = false;
  $("token").value = "";
  $("token").focus();
}

/**
 * Handles the API's refusals: 401 and 403 ask for a (new) token, 429 says when to retry.
 * Returns a message for the caller to show, or null when the response was not a refusal.
 */
function refusal(response, text) {
  let detail = "";
  try { detail = JSON.parse(text).error || ""; } catch (_) { /* not JSON */ }
  if (response.status === 401) {
    const hadToken = Boolean(storedToken());
    dropToken();
    askForToken(hadToken ? `That token was not accepted (${detail || "invalid or expired"}). Enter another.`
      : "Orders hold personal data: enter an access token (API key or JWT) to read them.", hadToken);
    return hadToken ? "The token was not accepted." : "An access token is needed.";
  }
  if (response.status === 403) {
    askForToken(`This token may not do that (${detail || "missing scope"}). Enter another token.`, true);
    return "This token lacks the permission for that.";
  }
  if (response.status === 429) {
    const wait = response.headers.get("retry-after");
    return `Too many requests: retry in ${wait || "a few"} second${wait === "1" ? "" : "s"}.`;
  }
  return null;
}

/** Creates an element: h("td", {class: "num"}, "text", childNode, ...). */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

const formatters = new Map();
/** Money arrives in minor units (cents); shows major units with the currency's own decimals. */
function money(minor, currency) {
  let fmt = formatters.get(currency);
  if (!fmt) {
    try {
      fmt = new Intl.NumberFormat(undefined, { style: "currency", currency });
    } catch (_) {
      fmt = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    }
    formatters.set(currency, fmt);
  }
  const digits = fmt.resolvedOptions().maximumFractionDigits;
  return fmt.format(Number(minor) / 10 ** digits);
}

function dateTime(value) {
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

const $ = (id) => document.getElementById(id);
const result = () => $("result");
let current = null; // uid shown now
let pending = null; // AbortController of the request in flight

function show(...nodes) {
  result().replaceChildren(...nodes);
}

function stateCard(kind, title, ...lines) {
  return h("div", { class: `state ${kind}`, role: kind === "error" ? "alert" : undefined },
    h("p", { class: "state-title" }, title), ...lines.map((line) => h("p", {}, line)));
}

async function lookup(uid, { push = true } = {}) {
  uid = uid.trim();
  $("uid").value = uid;
  if (!UID_PATTERN.test(uid)) {
    show(stateCard("error", "That is not an order UID",
      "Use 1–64 characters: letters, digits, underscore and hyphen."));
    return;
  }
  if (push) {
    const url = new URL(location.href);
    url.searchParams.set("uid", uid);
    history.pushState({ uid }, "", url);
  }
  current = uid;
  markActive();
  if (pending) pending.abort();
  pending = new AbortController();
  $("get").disabled = true;
  show(h("div", { class: "state loading" }, h("span", { class: "spinner" }), "Loading order…"));
  try {
    const response = await api(`/order/${encodeURIComponent(uid)}`, pending.signal);
    const text = await response.text();
    const refused = refusal(response, text);
    if (refused) {
      show(stateCard("error", "Request refused", refused));
    } else if (response.ok) {
      renderOrder(JSON.parse(text), text, response.headers.get("x-cache"));
    } else if (response.status === 404) {
      show(stateCard("not-found", "Order not found",
        h("span", {}, "No order has the UID ", h("span", { class: "mono" }, uid), "."),
        "It may not have been ingested yet — check the UID and try again in a moment."));
    } else {
      let message = `HTTP ${response.status}`;
      try { message = JSON.parse(text).error || message; } catch (_) { /* not JSON */ }
      show(stateCard("error", response.status >= 500 ? "The service cannot answer right now" : "Request refused",
        message, response.status >= 500 ? "Please retry in a few seconds." : ""));
    }
  } catch (err) {
    if (err.name === "AbortError") return;
    show(stateCard("error", "Could not reach the server", String(err.message || err)));
  } finally {
    $("get").disabled = false;
  }
}

function facts(pairs) {
  return h("dl", { class: "facts" },
    pairs.filter(([, value]) => value !== undefined && value !== "")
      .map(([label, value]) => [h("dt", {}, label), h("dd", {}, value)]));
}

function renderOrder(order, raw, cacheState) {
  const p = order.payment;
  const d = order.delivery;
  const currency = p.currency;
  const cur = (minor) => money(minor, currency);

  const summary = h("section", { class: "card summary" },
    h("div", { class: "summary-main" },
      h("p", { class: "eyebrow" }, "Order"),
      h("h1", { class: "uid" }, order.order_uid),
      h("div", { class: "chips" },
        h("span", { class: "chip" }, `Track ${order.track_number}`),
        h("span", { class: "chip" }, order.delivery_service),
        h("span", { class: "chip" }, `${order.items.length} item${order.items.length === 1 ? "" : "s"}`),
        cacheState && h("span", { class: `chip ${cacheState}`, title: "x-cache" }, `cache ${cacheState}`)),
      h("dl", { class: "meta" },
        [["Created", dateTime(order.date_created)], ["Customer", order.customer_id],
          ["Entry", order.entry], ["Locale", order.locale], ["Shard", `${order.shardkey} / ${order.oof_shard}`],
          ["SM id", order.sm_id]]
          .map(([label, value]) => h("div", {}, h("dt", {}, label), h("dd", {}, value))))),
    h("div", { class: "total" },
      h("p", { class: "eyebrow" }, "Total"),
      h("p", { class: "total-amount" }, cur(p.amount)),
      h("p", { class: "total-note" }, `paid via ${p.provider} · ${p.bank}`)));

  const delivery = h("section", { class: "card panel" }, h("h2", {}, "Delivery"),
    facts([
      ["Name", d.name],
      ["Phone", d.phone],
      ["Email", d.email],
      ["Address", d.address],
      ["City", `${d.city}${d.zip ? `, ${d.zip}` : ""}`],
      ["Region", d.region],
    ]));

  const payment = h("section", { class: "card panel" }, h("h2", {}, "Payment"),
    facts([
      ["Transaction", h("span", { class: "mono" }, p.transaction)],
      ["Request", p.request_id ? h("span", { class: "mono" }, p.request_id) : ""],
      ["Provider", p.provider],
      ["Bank", p.bank],
      ["Paid at", dateTime(new Date(p.payment_dt * 1000))],
      ["Currency", currency],
    ]),
    h("dl", { class: "facts breakdown" },
      h("dt", {}, "Goods"), h("dd", {}, cur(p.goods_total)),
      h("dt", {}, "Delivery"), h("dd", {}, cur(p.delivery_cost)),
      h("dt", {}, "Customs fee"), h("dd", {}, cur(p.custom_fee)),
      h("dt", { class: "grand" }, "Amount"), h("dd", { class: "grand" }, cur(p.amount))));

  const rows = order.items.map((item) => h("tr", {},
    h("td", {}, h("div", { class: "item-name" }, item.name), h("div", { class: "item-brand" }, item.brand),
      h("div", { class: "item-size" }, `Size ${item.size}`)),
    h("td", { class: "opt" }, item.size),
    h("td", { class: "num" }, cur(item.price)),
    h("td", { class: "num" }, item.sale ? h("span", { class: "sale" }, `−${item.sale}%`) : "—"),
    h("td", { class: "num" }, cur(item.total_price)),
    h("td", { class: "num opt" }, item.nm_id),
    h("td", { class: "num opt" }, item.status)));
  const listTotal = order.items.reduce((sum, item) => sum + item.price, 0);
  const itemsTotal = order.items.reduce((sum, item) => sum + item.total_price, 0);
  const items = h("section", { class: "card items" }, h("h2", {}, "Items"),
    h("div", { class: "table-scroll" }, h("table", {},
      h("thead", {}, h("tr", {},
        h("th", {}, "Item"), h("th", { class: "opt" }, "Size"), h("th", { class: "num" }, "Price"),
        h("th", { class: "num" }, "Sale"), h("th", { class: "num" }, "Total"),
        h("th", { class: "num opt" }, "nm_id"), h("th", { class: "num opt" }, "Status"))),
      h("tbody", {}, rows),
      h("tfoot", {}, h("tr", {},
        h("td", {}, "Items total"), h("td", { class: "opt" }), h("td", { colspan: 2 }),
        h("td", { class: "num" },
          listTotal !== itemsTotal && h("span", { class: "strike" }, cur(listTotal)), cur(itemsTotal)),
        h("td", { class: "opt" }), h("td", { class: "opt" }))))));

  const pre = h("pre", { class: "json hidden", id: "raw-json" }, JSON.stringify(order, null, 2));
  const toggle = h("button", {
    type: "button", class: "ghost", "aria-expanded": "false", "aria-controls": "raw-json",
    onclick: () => {
      const open = pre.classList.toggle("hidden") === false;
      toggle.setAttribute("aria-expanded", String(open));
      toggle.textContent = open ? "Hide raw JSON" : "Show raw JSON";
    },
  }, "Show raw JSON");
  const copy = h("button", {
    type: "button", class: "ghost",
    onclick: async () => {
      try { await navigator.clipboard.writeText(raw); copy.textContent = "Copied"; } catch (_) { copy.textContent = "Copy failed"; }
      setTimeout(() => { copy.textContent = "Copy JSON"; }, 1500);
    },
  }, "Copy JSON");
  const rawSection = h("section", { class: "card raw" },
    h("div", { class: "raw-head" }, h("h2", {}, "Raw JSON"), h("div", { class: "raw-actions" }, copy, toggle)), pre);

  show(h("article", { class: "order" }, summary, h("div", { class: "panels" }, delivery, payment), items, rawSection));
}

function markActive() {
  for (const button of document.querySelectorAll("#recent-list button")) {
    button.classList.toggle("active", button.dataset.uid === current);
  }
}

async function loadRecent() {
  const list = $("recent-list");
  try {
    const response = await api("/orders?limit=20");
    const text = await response.text();
    const refused = refusal(response, text);
    if (refused) {
      list.replaceChildren(h("li", { class: "muted" }, refused));
      return;
    }
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const orders = JSON.parse(text);
    if (orders.length === 0) {
      list.replaceChildren(h("li", { class: "muted" }, "No orders stored yet."));
      return;
    }
    list.replaceChildren(...orders.map((o) => h("li", {},
      h("button", { type: "button", "data-uid": o.order_uid, title: o.order_uid, onclick: () => lookup(o.order_uid) },
        h("span", { class: "recent-uid" }, o.order_uid),
        h("span", { class: "recent-amount" }, money(o.amount, o.currency)),
        h("span", { class: "recent-meta" },
          `${dateTime(o.date_created)} · ${o.items} item${o.items === 1 ? "" : "s"} · ${o.customer_id}`)))));
    markActive();
  } catch (err) {
    list.replaceChildren(h("li", { class: "muted" }, `Could not load recent orders (${err.message}).`));
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("lookup").addEventListener("submit", (event) => {
    event.preventDefault();
    lookup($("uid").value);
  });
  $("refresh").addEventListener("click", loadRecent);
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const token = $("token").value.trim();
    if (!token) return;
    storeToken(token);
    $("token").value = "";
    $("token-form").hidden = true;
    loadRecent();
    if (current) lookup(current, { push: false });
  });
  $("forget-token").addEventListener("click", () => {
    dropToken();
    // What the token showed goes too: orders are personal data.
    current = null;
    show(h("div", { class: "empty-state" }, h("p", { class: "empty-title" }, "Token forgotten"),
      h("p", {}, "Enter a token to read orders again.")));
    $("recent-list").replaceChildren(h("li", { class: "muted" }, "An access token is needed."));
    askForToken("Token forgotten. Enter a token to read orders again.", false);
  });
  syncTokenControls();
  window.addEventListener("popstate", () => {
    const uid = new URL(location.href).searchParams.get("uid");
    if (uid) lookup(uid, { push: false });
  });
  const initial = new URL(location.href).searchParams.get("uid");
  if (initial) lookup(initial, { push: false });
  else $("uid").focus();
  loadRecent();
});
