// The specstub dashboard: reads the admin API of the server that served it (same origin), with
// the admin token when the server has one (from #token=… or typed in, kept in sessionStorage).
"use strict";
(() => {
  const PREFIX = document.querySelector("meta[name=specstub-admin]").content;
  const KEY = "specstub-admin-token";
  const $ = (id) => document.getElementById(id);
  const state = { ops: [], entries: [], after: null, picked: null, sessions: new Set([""]), collection: null, polling: false };

  // A token in the fragment never reaches the server's logs; move it out of the address bar.
  const hash = new URLSearchParams(location.hash.slice(1));
  if (hash.get("token")) {
    sessionStorage.setItem(KEY, hash.get("token"));
    history.replaceState(null, "", location.pathname + location.search);
  }

  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") e.className = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : v);
    }
    for (const k of kids.flat()) if (k !== undefined && k !== null && k !== false) e.append(k instanceof Node ? k : String(k));
    return e;
  }

  class Locked extends Error {}

  async function api(path, method = "GET") {
    const headers = { Accept: "application/json" };
    const token = sessionStorage.getItem(KEY);
    if (token) headers["X-Specstub-Admin-Token"] = token;
    if (method !== "GET") headers["Content-Type"] = "application/json";
    const r = await fetch(PREFIX + path, { method, headers, cache: "no-store", credentials: "omit" });
    const text = await r.text();
    const body = text ? JSON.parse(text) : null;
    if (r.status === 401 || (r.status === 403 && /token/.test(body && body.detail))) {
      askToken(body && body.detail);
      throw new Locked(body && body.detail);
    }
    return { status: r.status, body, headers: r.headers };
  }

  function askToken(why) {
    const bar = $("token-bar");
    if (bar.hidden) {
      bar.hidden = false;
      $("token").focus();
    }
    $("token-error").textContent = why || "";
  }

  $("token-bar").addEventListener("submit", (ev) => {
    ev.preventDefault();
    sessionStorage.setItem(KEY, $("token").value.trim());
    $("token-bar").hidden = true;
    start();
  });

  function toast(text) {
    const t = $("toast");
    t.textContent = text;
    t.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => (t.hidden = true), 2500);
  }

  const statusClass = (s) => "badge s" + String(s)[0];
  const json = (v) => JSON.stringify(v, null, 2);
  const shellQuote = (s) => "'" + String(s).replace(/'/g, "'\\''") + "'";

  // ---- operations
  function curl(op) {
    const parts = ["curl"];
    if (/[{}[\]]/.test(op.path)) parts.push("-g");
    if (op.method !== "GET") parts.push("-X", op.method);
    parts.push(shellQuote(location.origin + op.path));
    const body = op.requestBody;
    if (body) {
      parts.push("-H", shellQuote("Content-Type: " + body.mediaType));
      if (body.example !== undefined) parts.push("-d", shellQuote(typeof body.example === "string" ? body.example : JSON.stringify(body.example)));
    }
    return parts.join(" ");
  }

  async function copy(text) {
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      // Pages over plain HTTP on a non-loopback name get no clipboard API.
      const area = el("textarea", {}, text);
      document.body.append(area);
      area.select();
      document.execCommand("copy");
      area.remove();
    }
    toast("Copied: " + text.slice(0, 80));
  }

  function answeredBy(a) {
    const label = {
      example: "example" + (a.example && a.example !== "default" ? " " + a.example : ""),
      generated: "generated",
      empty: "no body",
      stateful: "stateful: " + a.resource + " " + a.action,
      proxied: "proxied" + (a.strict ? " (strict)" : ""),
    }[a.kind];
    return el("span", { class: "badge answer-" + a.kind }, label || a.kind);
  }

  function traffic(op) {
    const bits = [];
    if (op.rateLimit) bits.push("limit " + op.rateLimit);
    if (op.latency) bits.push("latency " + op.latency.value);
    for (const f of op.faults || []) bits.push("fault " + f.fault + " @ " + Math.round(f.rate * 100) + "%");
    if (op.chaos) bits.push("chaos");
    return bits.length ? bits.join(", ") : el("span", { class: "muted" }, "—");
  }

  function renderOps() {
    const q = $("op-filter").value.trim().toLowerCase();
    const shown = state.ops.filter((o) => !q || (o.path + " " + o.operationId + " " + o.api + " " + o.method).toLowerCase().includes(q));
    const apis = new Set(state.ops.map((o) => o.api));
    $("op-count").textContent = `${state.ops.length} in ${apis.size} API${apis.size === 1 ? "" : "s"}`;
    $("ops").replaceChildren(
      ...shown.map((o) => {
        const line = curl(o);
        return el(
          "tr",
          { "data-op": o.operationId, title: line },
          el("td", {}, el("span", { class: "method m-" + o.method }, o.method)),
          el("td", {}, el("div", { class: "path" }, o.path), el("code", { class: "curl" }, line)),
          el("td", {}, o.operationId, apis.size > 1 ? el("div", { class: "muted" }, o.api) : null),
          el("td", {}, answeredBy(o.answer)),
          el("td", {}, traffic(o)),
          el("td", {}, el("button", { class: "copy", type: "button", title: "Copy the curl line", onclick: () => copy(line) }, "Copy")),
        );
      }),
    );
    const pick = $("f-op");
    const current = pick.value;
    pick.replaceChildren(el("option", { value: "" }, "all operations"), ...state.ops.map((o) => el("option", { value: o.operationId }, o.operationId)));
    pick.value = current;
  }
  $("op-filter").addEventListener("input", renderOps);

  // ---- live request log
  function keep(e) {
    const session = $("f-session").value;
    if (session !== "*" && (e.session || "") !== session) return false;
    const op = $("f-op").value;
    if (op && e.operation !== op) return false;
    const want = $("f-status").value.trim().toLowerCase().replace(/x/g, ".");
    if (want && !new RegExp("^" + want.replace(/[^0-9.]/g, "")).test(String(e.status))) return false;
    if ($("f-invalid").checked && !(e.violations && e.violations.length)) return false;
    return true;
  }

  // A hot reload's mark: its outcome, generation and the files that changed.
  function reloadText(e) {
    if (!e.reload) return "";
    return `${e.reload.outcome} (plan ${e.reload.generation}): ${(e.reload.files || []).join(", ")}`;
  }

  function renderEntries() {
    const shown = state.entries.filter(keep).reverse();
    $("log-count").textContent = `${shown.length} shown of ${state.entries.length}`;
    const rows = shown.slice(0, 300).map((e) =>
      el(
        "tr",
        { "data-seq": e.seq, class: state.picked === e.seq ? "picked" : null, onclick: () => pick(e.seq) },
        el("td", { class: "muted" }, e.seq),
        el("td", { class: "muted mono", title: e.at }, String(e.at).slice(11, 23)),
        el("td", {}, el("span", { class: "method m-" + e.method }, e.method), " ", el("span", { class: "mono" }, reloadText(e) || e.path), e.operation ? el("div", { class: "muted" }, e.operation) : null),
        el("td", {}, el("span", { class: statusClass(e.status) }, e.status)),
        el("td", {}, el("span", { class: "badge v-" + e.validation }, e.validation)),
        el("td", { class: "num" }, e.duration_ms.toFixed(1)),
        el("td", {}, (e.violations || []).map((v) => el("div", { class: "pointer mono", title: v.message }, v.in + " " + (v.pointer || "/")))),
      ),
    );
    $("entries").replaceChildren(...(rows.length ? rows : [el("tr", { class: "empty" }, el("td", { colspan: 7 }, state.entries.length ? "No request matches the filters." : "No requests yet."))]));
  }
  for (const id of ["f-session", "f-op", "f-status", "f-invalid"]) for (const ev of ["input", "change"]) $(id).addEventListener(ev, renderEntries);

  function pick(seq) {
    state.picked = seq;
    const e = state.entries.find((x) => x.seq === seq);
    renderEntries();
    if (!e) return;
    const section = (title, ...kids) => [el("h4", {}, title), ...kids];
    $("detail").className = "";
    $("detail").replaceChildren(
      ...[
      el("h3", {}, el("span", { class: "method m-" + e.method }, e.method), " ", el("span", { class: "mono" }, e.path)),
      el(
        "dl",
        {},
        el("dt", {}, "status"), el("dd", {}, el("span", { class: statusClass(e.status) }, e.status), " ", el("span", { class: "badge v-" + e.validation }, e.validation)),
        el("dt", {}, "operation"), el("dd", {}, e.operation || "— (no operation matched)"),
        el("dt", {}, "session"), el("dd", {}, e.session || "(default)"),
        el("dt", {}, "at"), el("dd", {}, e.at),
        el("dt", {}, "took"), el("dd", {}, e.duration_ms.toFixed(2) + " ms"),
        el("dt", {}, "request id"), el("dd", { class: "mono" }, e.request_id),
      ),
      e.violations && e.violations.length
        ? section(
            "Violations",
            el("table", {}, el("tbody", {}, e.violations.map((v) => el("tr", {}, el("td", {}, v.in), el("td", { class: "pointer" }, v.pointer || "/"), el("td", {}, v.message))))),
          )
        : null,
      e.injected && e.injected.length ? section("Injected", el("pre", {}, e.injected.join("\n"))) : null,
      Object.keys(e.query || {}).length ? section("Query", el("pre", {}, json(e.query))) : null,
      section("Request body", e.body === undefined ? el("p", { class: "muted" }, "none, or not JSON or a form") : el("pre", {}, json(e.body))),
      el("p", { class: "muted" }, "The journal keeps the request, the status and the verdict, with secrets redacted; not the answer's headers or body."),
      ].flat().filter(Boolean),
    );
  }

  async function poll() {
    try {
      let more = true;
      while (more) {
        const q = state.after === null ? "?limit=200" : `?after=${state.after}&limit=200`;
        const r = await api("/journal" + q);
        const got = r.body || [];
        for (const e of got) {
          state.entries.push(e);
          if (e.session) state.sessions.add(e.session);
        }
        if (got.length) state.after = got[got.length - 1].seq;
        else if (state.after === null) state.after = 0;
        more = r.headers.has("link");
        if (state.entries.length > 1000) state.entries.splice(0, state.entries.length - 1000);
        if (got.length) {
          renderEntries();
          renderSessions();
        }
      }
      await health();
    } catch (err) {
      if (err instanceof Locked) return (state.polling = false);
    }
    setTimeout(poll, 1000);
  }

  $("log-clear").addEventListener("click", async () => {
    await api("/journal", "DELETE");
    state.entries = [];
    state.picked = null;
    renderEntries();
    $("detail").className = "muted";
    $("detail").textContent = "Click a request to see it in full.";
  });

  async function health() {
    const h = (await api("/health")).body || {};
    const sc = h.selfCheck;
    const n = (k, word) => `${k} ${word}${k === 1 ? "" : "s"}`;
    $("health").textContent = "up" + (sc ? ` · self-check: ${n(sc.answers, "answer")}, ${n(sc.violations, "violation")}` : "");
  }

  // ---- store
  function renderSessions() {
    const filter = $("f-session");
    const current = filter.value;
    const names = [...state.sessions].sort();
    filter.replaceChildren(el("option", { value: "*" }, "all sessions"), ...names.map((s) => el("option", { value: s }, s || "(default)")));
    filter.value = current;
    $("sessions").replaceChildren(...names.filter((s) => s).map((s) => el("option", { value: s })));
  }

  const session = () => $("session").value.trim();
  const scoped = (path) => `${path}${path.includes("?") ? "&" : "?"}session=${encodeURIComponent(session())}`;

  async function loadStore() {
    const r = await api(scoped("/resources"));
    if (r.status !== 200) {
      $("store-note").textContent = (r.body && r.body.detail) || "The store cannot be read.";
      $("collections").replaceChildren();
      return;
    }
    $("store-note").textContent = `Session ${session() || "(default)"}: ${r.body.length} collection${r.body.length === 1 ? "" : "s"}.`;
    $("collections").replaceChildren(
      ...(r.body.length
        ? r.body.map((c) => el("li", { "data-collection": c.name, class: c.name === state.collection ? "picked" : null, onclick: () => loadRecords(c.name) }, el("span", {}, c.name), el("span", { class: "count" }, c.count)))
        : [el("li", { class: "none" }, "No records in this session.")]),
    );
    if (state.collection) await loadRecords(state.collection, true);
  }

  async function loadRecords(name, quiet) {
    state.collection = name;
    for (const li of $("collections").children) li.classList.toggle("picked", li.dataset.collection === name);
    const r = await api(scoped("/resources/" + encodeURIComponent(name)));
    const records = r.status === 200 ? r.body : [];
    $("records").replaceChildren(
      ...(records.length
        ? records.map((rec) => el("tr", { "data-id": rec.id }, el("td", { class: "mono" }, rec.id), el("td", { class: "num" }, rec.version), el("td", { class: "mono" }, rec.etag), el("td", {}, el("pre", { class: "record" }, JSON.stringify(rec.data)))))
        : [el("tr", { class: "empty" }, el("td", { colspan: 4 }, quiet ? "No records." : `No records in ${name}.`))]),
    );
  }

  async function reset(all) {
    const r = await api(all ? "/reset" : scoped("/reset"), "POST");
    toast(r.status === 200 ? (all ? "Reset everything to the fixtures" : `Reset session ${session() || "(default)"}`) : "Reset failed: " + (r.body && r.body.detail));
    await loadStore();
  }
  $("reset-session").addEventListener("click", () => reset(false));
  $("reset-all").addEventListener("click", () => reset(true));
  $("session").addEventListener("change", () => {
    state.collection = null;
    $("records").replaceChildren(el("tr", { class: "empty" }, el("td", { colspan: 4 }, "Pick a collection.")));
    loadStore();
  });

  // ---- expectations
  $("expect-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const want = {};
    for (const [k, v] of new FormData(ev.target)) {
      if (!String(v).trim()) continue;
      want[k] = k === "status" || k === "atLeast" ? Number(v) : String(v).trim();
    }
    const headers = { Accept: "application/json", "Content-Type": "application/json" };
    const token = sessionStorage.getItem(KEY);
    if (token) headers["X-Specstub-Admin-Token"] = token;
    const r = await fetch(PREFIX + "/verify", { method: "POST", headers, body: JSON.stringify(want), cache: "no-store", credentials: "omit" });
    const body = await r.json();
    const verdict = r.status === 200 ? el("span", { class: "badge s2" }, "holds") : r.status === 417 ? el("span", { class: "badge s5" }, "fails") : el("span", { class: "badge s4" }, r.status);
    const text = body.detail || `matched ${body.matched}`;
    $("expect-results").prepend(el("li", {}, verdict, " ", el("code", {}, JSON.stringify(want)), " — ", text));
  });

  let started = false;
  async function start() {
    try {
      state.ops = (await api("/operations")).body || [];
      renderOps();
      await loadStore();
      if (!state.polling) {
        state.polling = true;
        poll();
      }
      started = true;
    } catch (err) {
      if (!(err instanceof Locked)) $("health").textContent = "cannot reach the admin API: " + err.message;
    }
  }
  setInterval(() => started && !document.hidden && loadStore().catch(() => {}), 5000);
  start();
})();
