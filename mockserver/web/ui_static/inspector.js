// The modelslab-mock inspector: reads the admin API of the mock that serves it, nothing else.
// Everything a client sent is untrusted text: it only ever reaches the page through textContent.
"use strict";

(function () {
  const API = "/__mock";
  const TOKEN_KEY = "modelslab-mock-admin-token";
  const MAX_ROWS = 500;

  const state = {
    token: null,
    lastSeq: 0,
    webhookSeq: 0, // the newest webhook attempt shown
    webhookNewest: null,
    generation: 0, // bumped when the filters change: answers to older queries are dropped
    entries: new Map(), // seq -> entry
    operations: new Set(), // the filter's choices: the spec's operations (GET /operations), then any journalled
    kinds: new Map(), // operationId -> behaviour kind (generate, fetch, generic, image), from the spec
    selected: null,
    selectedJob: null,
    imageUrls: [],
    busy: {},
    stopped: false,
    timers: [],
  };

  const $ = (id) => document.getElementById(id);

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = String(value);
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  // -- the admin token ------------------------------------------------------------------------

  function takeToken() {
    const url = new URL(window.location.href);
    const given = url.searchParams.get("token");
    if (given) {
      sessionStorage.setItem(TOKEN_KEY, given);
      url.searchParams.delete("token");
      window.history.replaceState(null, "", url.pathname + url.search + url.hash);
    }
    state.token = sessionStorage.getItem(TOKEN_KEY);
  }

  class Unauthorized extends Error {}

  async function api(path, options) {
    const opts = Object.assign({ headers: {} }, options || {});
    opts.headers = Object.assign({}, opts.headers);
    if (state.token) opts.headers["X-Mock-Admin-Token"] = state.token;
    if (opts.json !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(opts.json);
      delete opts.json;
    }
    opts.cache = "no-store";
    const answer = await fetch(API + path, opts);
    if (answer.status === 401) throw new Unauthorized("the admin token is missing or wrong");
    return answer;
  }

  async function apiJson(path, options) {
    const answer = await api(path, options);
    const data = await answer.json();
    if (!answer.ok) throw new Error(data && data.message ? data.message : "HTTP " + answer.status);
    return data;
  }

  function needToken(message) {
    stop();
    $("app").hidden = true;
    $("token-panel").hidden = false;
    $("token-error").textContent = message || "";
    setConn("admin token needed", "bad");
    $("token-input").focus();
  }

  // -- helpers --------------------------------------------------------------------------------

  function setConn(text, kind) {
    const node = $("conn");
    node.textContent = text;
    node.className = "conn " + (kind || "");
  }

  function clockText(seconds) {
    if (typeof seconds !== "number") return "–";
    const date = new Date(seconds * 1000);
    return date.toISOString().replace("T", " ").replace("Z", "").slice(0, 23);
  }

  function timeText(seconds) {
    if (typeof seconds !== "number") return "";
    const d = new Date(seconds * 1000);
    const pad = (n, w) => String(n).padStart(w || 2, "0");
    return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
  }

  function pretty(value) {
    if (value === undefined) return "";
    if (typeof value === "string") return value;
    return JSON.stringify(value, null, 2);
  }

  function shortKey(owner) {
    return owner ? "…" + String(owner).slice(0, 8) : "—";
  }

  function statusWord(entry) {
    const response = entry.response || {};
    return response.status || entry.variant || "";
  }

  function firstError(entry) {
    const validation = entry.validation;
    if (!validation || validation.valid !== false || !validation.errors) return null;
    for (const [field, messages] of Object.entries(validation.errors)) {
      const list = Array.isArray(messages) ? messages : [messages];
      return `${field}: ${list[0]}`;
    }
    return null;
  }

  function what(entry) {
    const body = entry.body && typeof entry.body === "object" ? entry.body : {};
    const cell = el("td", { class: "what" });
    const kind = state.kinds.get(entry.operation);
    if (typeof body.prompt === "string" && body.prompt) cell.append(el("span", { class: "prompt", text: body.prompt }));
    else if (kind === "fetch") {
      cell.append(el("span", { text: entry.job_id != null ? `job ${entry.job_id}` : "unknown job" }));
    } else if (kind === "image") cell.append(el("span", { text: (entry.path || "").split("/").pop() }));
    const error = firstError(entry);
    if (error) cell.append(el("span", { class: "field-error", text: error }));
    else if (entry.fault) cell.append(el("span", { class: "field-error", text: `fault ${entry.fault}` }));
    else if (entry.status >= 400 && entry.response && typeof entry.response.message === "string") {
      cell.append(el("span", { class: "field-error", text: entry.response.message }));
    }
    if (entry.rule) cell.append(el("span", { class: "tag", text: `rule ${entry.rule}` }));
    return cell;
  }

  // -- the journal ----------------------------------------------------------------------------

  function filters() {
    const found = {};
    const key = $("f-key").value;
    if (key) found.key = key;
    if ($("f-operation").value) found.operation = $("f-operation").value;
    if ($("f-variant").value) found.variant = $("f-variant").value;
    const status = parseInt($("f-status").value, 10);
    if (!Number.isNaN(status)) found.status = status;
    return found;
  }

  function sameEntry(known, found) {
    // The same log entry (a reset store numbers its logs from 1 again, so the time tells them apart).
    return Boolean(known && found && known.time === found.time);
  }

  function resetJournal() {
    state.generation += 1;
    state.lastSeq = 0;
    state.entries.clear();
    clear($("journal").tBodies[0]);
    pollJournal();
  }

  function addOperation(name) {
    if (!name || state.operations.has(name)) return;
    state.operations.add(name);
    fillOperations();
  }

  function fillOperations() {
    const select = $("f-operation");
    const chosen = select.value;
    while (select.options.length > 1) select.remove(1);
    for (const name of [...state.operations].sort()) select.add(new Option(name, name));
    select.value = chosen;
  }

  function row(entry) {
    const tr = el("tr", { "data-seq": entry.seq, class: `v-${entry.variant || ""}`, onclick: () => select(entry.seq) },
      el("td", { text: entry.seq }),
      el("td", { text: timeText(entry.time) }),
      el("td", { text: entry.method || "" }),
      el("td", { text: entry.operation || entry.path || "" }),
      el("td", { class: "key", title: "the key's owner hash (the key itself is never stored)", text: shortKey(entry.owner) }),
      el("td", { class: "word", text: statusWord(entry) }),
      el("td", { class: entry.status >= 400 ? "bad" : "", text: entry.status }),
      el("td", { class: "num", text: typeof entry.duration_ms === "number" ? entry.duration_ms.toFixed(1) : "" }),
      what(entry));
    if (state.selected === entry.seq) tr.classList.add("selected");
    return tr;
  }

  async function pollJournal() {
    if (state.busy.journal) return;
    state.busy.journal = true;
    const generation = state.generation;
    try {
      // From the newest entry shown, so a reset (it is gone) is seen: then start over.
      const since = state.lastSeq;
      const query = Object.assign({ since: Math.max(0, since - 1) }, filters());
      if (since === 0) query.limit = MAX_ROWS;
      const data = await apiJson("/requests/find", { method: "POST", json: query });
      if (generation !== state.generation) return;
      if (since && !sameEntry(state.entries.get(since), data.requests.find((e) => e.seq === since))) {
        resetJournal(); // a reset mock numbers its journal from 1 again
        return;
      }
      const body = $("journal").tBodies[0];
      for (const entry of data.requests) {
        state.lastSeq = Math.max(state.lastSeq, entry.seq);
        if (state.entries.has(entry.seq)) continue;
        state.entries.set(entry.seq, entry);
        addOperation(entry.operation);
        body.insertBefore(row(entry), body.firstChild);
      }
      while (body.rows.length > MAX_ROWS) {
        const last = body.rows[body.rows.length - 1];
        state.entries.delete(Number(last.dataset.seq));
        last.remove();
      }
      $("journal-count").textContent = `${body.rows.length} shown`;
      setConn("live", "ok");
    } catch (error) {
      handle(error);
    } finally {
      state.busy.journal = false;
      if (generation !== state.generation) pollJournal();
    }
  }

  // -- one request ----------------------------------------------------------------------------

  async function select(seq) {
    state.selected = seq;
    for (const tr of $("journal").tBodies[0].rows) tr.classList.toggle("selected", Number(tr.dataset.seq) === seq);
    $("detail-title").textContent = `#${seq}`;
    try {
      const data = await apiJson(`/requests/${seq}/explain`);
      if (state.selected !== seq) return;
      showDetail(data);
      const jobId = data.entry.job_id;
      if (jobId !== null && jobId !== undefined) await showJob(jobId, true);
      else hideJob();
    } catch (error) {
      handle(error);
    }
  }

  function showDetail(data) {
    const entry = data.entry;
    $("detail").hidden = false;
    $("detail-more").hidden = false;
    $("detail-title").textContent = `#${entry.seq} ${entry.method} ${entry.path}`;
    $("reason-text").textContent = data.reason.summary;
    $("reason-text").className = `source-${data.reason.source}`;
    $("reason-delay").textContent = data.reason.delay || "";
    const details = data.reason.details || {};
    $("reason-details").textContent = Object.keys(details).length && data.reason.source !== "validation"
      ? pretty(details) : "";
    const errors = $("errors").tBodies[0];
    clear(errors);
    for (const item of data.errors) {
      for (const message of item.messages) {
        errors.append(el("tr", {}, el("td", { class: "field", text: item.field }), el("td", { class: "field-error", text: message })));
      }
    }
    $("errors-box").hidden = data.errors.length === 0;
    const warnings = $("warnings");
    clear(warnings);
    for (const warning of data.warnings) warnings.append(el("li", { text: warning }));
    $("warnings-box").hidden = data.warnings.length === 0;
    $("body").textContent = pretty(entry.body);
    $("answer-line").textContent = `HTTP ${entry.status} · ${entry.variant}` +
      (typeof entry.duration_ms === "number" ? ` · ${entry.duration_ms.toFixed(1)} ms` : "") +
      (entry.delay ? ` · delayed ${entry.delay} s` : "");
    $("answer").textContent = pretty(entry.response);
    $("curl").textContent = data.curl.command;
    $("curl-note").textContent = data.curl.complete ? "key masked as ***"
      : "key masked as ***; the journal shortened the body, so this is not the whole request";
  }

  async function copyCurl() {
    const text = $("curl").textContent;
    let done = false;
    try {
      if (navigator.clipboard && window.isSecureContext) {
        await navigator.clipboard.writeText(text);
        done = true;
      }
    } catch (_) { /* fall back below */ }
    if (!done) {
      const range = document.createRange();
      range.selectNodeContents($("curl"));
      const selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      try { done = document.execCommand("copy"); } catch (_) { done = false; }
    }
    $("copy-curl").textContent = done ? "copied" : "selected: press Ctrl+C";
    setTimeout(() => { $("copy-curl").textContent = "copy as curl"; }, 1500);
  }

  // -- a job: images and timeline ---------------------------------------------------------------

  function hideJob() {
    state.selectedJob = null;
    $("job").hidden = true;
    releaseImages();
  }

  function releaseImages() {
    for (const url of state.imageUrls) URL.revokeObjectURL(url);
    state.imageUrls = [];
  }

  async function showJob(jobId, fresh) {
    const job = await apiJson(`/jobs/${jobId}`);
    if (fresh || state.selectedJob !== jobId) {
      state.selectedJob = jobId;
      await showImages(job);
    }
    $("job").hidden = false;
    $("job-title").textContent = `${job.id} · ${job.status} · ${job.width}×${job.height}` +
      (job.track_id ? ` · track_id ${job.track_id}` : "") + ` · seed ${job.seed}`;
    await showTimeline(jobId);
  }

  async function loadImage(jobId, which, label) {
    const figure = el("figure", { class: `thumb thumb-${which}` });
    const caption = el("figcaption", { text: label });
    try {
      const answer = await api(`/jobs/${jobId}/images/${which}`);
      if (!answer.ok) {
        const data = await answer.json().catch(() => ({}));
        figure.append(el("div", { class: "missing", text: data.message || `HTTP ${answer.status}` }), caption);
        return figure;
      }
      const size = answer.headers.get("X-Image-Size") || "";
      const blob = await answer.blob();
      const url = URL.createObjectURL(blob);
      state.imageUrls.push(url);
      const img = el("img", { src: url, alt: label, "data-which": which });
      caption.textContent = `${label} · ${size.replace("x", "×")} · ${(blob.size / 1024).toFixed(1)} KB`;
      figure.append(img, caption);
    } catch (error) {
      if (error instanceof Unauthorized) throw error;
      figure.append(el("div", { class: "missing", text: String(error.message || error) }), caption);
    }
    return figure;
  }

  async function showImages(job) {
    releaseImages();
    const box = $("images");
    clear(box);
    const wanted = [];
    const inputs = job.inputs || {};
    if (job.images.init_image) wanted.push(["init_image", `init (${inputs.init_image.kind})`]);
    if (job.images.mask_image) wanted.push(["mask_image", `mask (${inputs.mask_image.kind})`]);
    if (job.images.overlay) wanted.push(["overlay", "mask over init"]);
    job.images.outputs.forEach((_, i) => wanted.push([`output-${i}`, `output ${i}`]));
    const figures = await Promise.all(wanted.map(([which, label]) => loadImage(job.id, which, label)));
    if (state.selectedJob !== job.id) return;
    for (const figure of figures) box.append(figure);
  }

  const KIND_LABEL = {
    submit: "submit", processing: "processing", poll: "fetch", download: "download", ready: "ready (planned)",
    success: "success", failed: "failed", webhook: "webhook",
  };

  async function showTimeline(jobId) {
    const data = await apiJson(`/jobs/${jobId}/timeline`);
    if (state.selectedJob !== jobId) return;
    const end = Math.max(data.elapsed, data.eta, ...data.events.map((e) => e.t), 1) * 1.05;
    const pct = (t) => `${Math.min(100, Math.max(0, (t / end) * 100)).toFixed(2)}%`;
    const bar = $("timeline");
    clear(bar);
    const track = el("div", { class: "track" });
    if (data.eta > 0) {
      const band = el("div", { class: "band", title: `processing until the eta, ${data.eta} s` });
      band.style.left = "0%";
      band.style.width = pct(data.eta);
      track.append(band);
    }
    const now = el("div", { class: "now", title: `now: ${data.elapsed} s after the submit` });
    now.style.left = pct(data.elapsed);
    track.append(now);
    for (const event of data.events) {
      if (event.kind === "processing") continue;
      const cls = event.kind === "poll" ? (event.early ? "tick early" : "tick") : `mark ${event.kind}`;
      const mark = el("div", { class: `${cls}${event.planned ? " planned" : ""}`, title: eventText(event) });
      mark.style.left = pct(event.t);
      track.append(mark);
    }
    bar.append(track, el("div", { class: "scale" }, el("span", { text: "0 s" }), el("span", { text: `${end.toFixed(1)} s` })));
    $("timeline-summary").textContent = `${data.status} · eta ${data.eta} s · ${data.polls} fetch(es)` +
      ` · ${data.downloads} download(s)` + (data.webhook ? ` · webhook ${data.webhook_status || "pending"}` : "");
    const flags = $("flags");
    clear(flags);
    for (const flag of data.flags) flags.append(el("li", { class: `flag flag-${flag.code}` }, el("b", { text: flag.code }), " ", flag.message));
    if (!data.flags.length) flags.append(el("li", { class: "ok", text: "no problem seen in how the client polled" }));
    const list = $("timeline-events");
    clear(list);
    for (const event of data.events) list.append(el("li", { class: `ev-${event.kind}`, text: eventText(event) }));
  }

  function eventText(event) {
    const at = `${event.t.toFixed(2)} s`;
    switch (event.kind) {
      case "submit": return `${at} submit → HTTP ${event.status} ${event.variant}` + (event.eta ? `, eta ${event.eta} s` : "");
      case "processing": return `${at} processing until ${event.until} s`;
      case "poll": return `${at} fetch → HTTP ${event.status} ${event.variant}` +
        (event.eta_left !== undefined ? ` (${event.eta_left} s left)` : "");
      case "download": return `${at} download → HTTP ${event.status}`;
      case "webhook": return `${at} webhook copy ${event.copy} attempt ${event.attempt} → ${event.outcome}` +
        (event.status_code ? ` HTTP ${event.status_code}` : "") + (event.error ? ` (${event.error})` : "");
      default: return `${at} ${KIND_LABEL[event.kind] || event.kind}` + (event.planned ? " (not yet)" : "");
    }
  }

  // -- webhooks, rules, clock -----------------------------------------------------------------

  async function pollWebhooks() {
    if (state.busy.webhooks) return;
    state.busy.webhooks = true;
    try {
      // Only attempts not seen yet (the newest 200 at first); a reset starts the list again.
      const since = state.webhookSeq;
      const data = await apiJson(`/webhooks?since=${Math.max(0, since - 1)}` + (since ? "" : "&limit=200"));
      const body = $("webhooks").tBodies[0];
      if (since && !sameEntry(state.webhookNewest, data.deliveries.find((d) => d.seq === since))) {
        state.webhookSeq = 0;
        clear(body);
        return;
      }
      for (const d of data.deliveries) {
        if (d.seq <= since) continue;
        if (d.seq > state.webhookSeq) {
          state.webhookSeq = d.seq;
          state.webhookNewest = d;
        }
        body.insertBefore(el("tr", { class: `o-${d.outcome}` },
          el("td", { text: d.seq }), el("td", { text: d.job_id }), el("td", { text: d.copy }),
          el("td", { text: d.attempt }), el("td", { text: d.outcome }), el("td", { text: d.status_code ?? "" }),
          el("td", { class: "num", text: typeof d.duration_ms === "number" ? d.duration_ms.toFixed(1) : "" }),
          el("td", { text: d.final ? "yes" : "retry" }), el("td", { class: "field-error", text: d.error || "" }),
          el("td", { class: "url", text: d.url || "" })), body.firstChild);
      }
      while (body.rows.length > 200) body.rows[body.rows.length - 1].remove();
      $("webhooks-count").textContent = `${body.rows.length} shown`;
    } catch (error) {
      handle(error);
    } finally {
      state.busy.webhooks = false;
    }
  }

  async function pollRules() {
    try {
      const data = await apiJson("/rules");
      const body = $("rules").tBodies[0];
      clear(body);
      for (const rule of data.rules) {
        const remove = el("button", { type: "button", class: "delete", "data-rule": rule.id, onclick: () => deleteRule(rule.id) }, "delete");
        body.append(el("tr", {},
          el("td", { text: rule.id }), el("td", { text: (rule.operation || []).join(", ") }),
          el("td", { class: "small", text: rule.match && Object.keys(rule.match).length ? JSON.stringify(rule.match) : "any" }),
          el("td", { class: "small", text: JSON.stringify(rule.respond) }),
          el("td", { text: rule.times ?? "∞" }), el("td", { class: "hits", text: rule.matched ?? 0 }),
          el("td", { text: rule.priority }), el("td", {}, remove)));
      }
      $("rules-count").textContent = `${data.rules.length} rule(s)`;
    } catch (error) {
      handle(error);
    }
  }

  async function deleteRule(id) {
    try {
      await apiJson(`/rules/${encodeURIComponent(id)}`, { method: "DELETE" });
    } catch (error) {
      handle(error);
    }
    pollRules();
  }

  async function pollClock() {
    try {
      const data = await apiJson("/clock");
      $("clock-now").textContent = clockText(data.now);
      $("clock-offset").textContent = data.offset ? `(+${data.offset} s)` : "";
    } catch (error) {
      handle(error);
    }
  }

  async function advanceClock(event) {
    event.preventDefault();
    const seconds = parseFloat($("clock-advance").value);
    if (!(seconds >= 0)) return;
    try {
      await apiJson("/clock", { method: "POST", json: { advance: seconds } });
    } catch (error) {
      handle(error);
    }
    pollClock();
    refreshJob();
  }

  async function refreshJob() {
    if (state.selectedJob === null) return;
    if (state.busy.job) return;
    state.busy.job = true;
    try {
      await showJob(state.selectedJob, false);
    } catch (error) {
      handle(error);
    } finally {
      state.busy.job = false;
    }
  }

  // -- running ----------------------------------------------------------------------------------

  function handle(error) {
    if (error instanceof Unauthorized) {
      needToken(state.token ? "That token was refused." : "");
      return;
    }
    setConn(`error: ${error.message || error}`, "bad");
  }

  function stop() {
    state.stopped = true;
    for (const timer of state.timers) clearInterval(timer);
    state.timers = [];
  }

  async function start() {
    let served;
    try {
      await apiJson("/health");
      served = await apiJson("/operations"); // what the loaded spec serves, and each one's behaviour
    } catch (error) {
      handle(error);
      return;
    }
    state.kinds = new Map(served.operations.map((op) => [op.id, op.kind]));
    state.operations = new Set(state.kinds.keys());
    state.stopped = false;
    $("token-panel").hidden = true;
    $("app").hidden = false;
    fillOperations();
    resetJournal();
    pollWebhooks();
    pollRules();
    pollClock();
    state.timers.push(setInterval(pollJournal, 1000));
    state.timers.push(setInterval(pollClock, 1000));
    state.timers.push(setInterval(() => { pollWebhooks(); pollRules(); }, 2000));
    state.timers.push(setInterval(refreshJob, 2000));
  }

  function wire() {
    $("token-form").addEventListener("submit", (event) => {
      event.preventDefault();
      state.token = $("token-input").value.trim() || null;
      if (state.token) sessionStorage.setItem(TOKEN_KEY, state.token);
      $("token-input").value = "";
      start();
    });
    $("clock-form").addEventListener("submit", advanceClock);
    $("copy-curl").addEventListener("click", copyCurl);
    const filterForm = $("filters");
    let pending = null;
    const changed = () => { clearTimeout(pending); pending = setTimeout(resetJournal, 250); };
    filterForm.addEventListener("input", changed);
    filterForm.addEventListener("change", changed);
    filterForm.addEventListener("reset", () => setTimeout(resetJournal, 0));
    filterForm.addEventListener("submit", (event) => { event.preventDefault(); resetJournal(); });
  }

  document.addEventListener("DOMContentLoaded", () => {
    takeToken();
    wire();
    start();
  });
})();
