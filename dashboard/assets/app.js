// docswarm dashboard: renders the server's snapshots (every second over server-sent events) and
// swarm events as they happen. No framework, no CDN; every value goes in as text, never as HTML.

const state = { snapshot: null, source: null };

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else node.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

// Style through the CSSOM: the page's CSP forbids inline style attributes.
function fill(pct) {
  const span = document.createElement("span");
  span.style.width = `${pct}%`;
  return span;
}

function replaceRows(id, rows, columns, emptyText) {
  const body = document.getElementById(id);
  body.replaceChildren(
    ...(rows.length ? rows : [el("tr", {}, el("td", { class: "empty", colspan: columns }, emptyText))]),
  );
}

const fmt = {
  age(ms) {
    if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
    if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
    if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min`;
    return `${(ms / 3_600_000).toFixed(1)} h`;
  },
  bytes(n) {
    if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(1)} GB`;
    if (n >= 1 << 20) return `${Math.round(n / (1 << 20))} MB`;
    return `${Math.round(n / 1024)} KB`;
  },
  time(t) {
    return new Date(t).toLocaleTimeString();
  },
  short(id, n = 14) {
    return id.length > n ? `${id.slice(0, n)}…` : id;
  },
};

function setConnection(on, text) {
  const c = document.getElementById("connection");
  c.className = `pill ${on ? "on" : "off"}`;
  c.textContent = text;
}

function render(s) {
  state.snapshot = s;
  const now = s.at;
  document.getElementById("server").textContent = s.natsServer ? `NATS ${s.natsServer}` : "";
  const leader = s.coordinator.leader
    ? `leader ${s.coordinator.leader} (term ${s.coordinator.term})`
    : s.coordinator.consuming
      ? "coordinator active"
      : "no coordinator consuming";
  document.getElementById("leader").textContent = leader;

  const last10 = s.series.slice(-11, -1).reduce((n, b) => n + b.pages, 0) / 10;
  document.getElementById("c-rate").textContent = last10.toFixed(1);
  document.getElementById("c-progress").textContent = s.totals.inProgress;
  document.getElementById("c-done").textContent = `${s.totals.done} / ${s.totals.failed}`;
  document.getElementById("c-backlog").textContent = s.totals.backlog;
  document.getElementById("c-agents").textContent = s.totals.agents;
  document.getElementById("c-dlq").textContent = Object.values(s.deadLetters.counts).reduce(
    (a, b) => a + b,
    0,
  );

  document
    .getElementById("warnings")
    .replaceChildren(
      ...s.warnings.map((w) => el("div", { class: "warning", "data-code": w.code }, `⚠ ${w.message}`)),
    );

  replaceRows(
    "stages",
    s.stages.map((st) =>
      el(
        "tr",
        {
          class: st.backlog + st.inFlight === 0 ? "zero" : "",
          "data-stage": st.stage,
          "data-priority": st.priority,
        },
        el("td", {}, st.stage),
        el("td", {}, st.priority),
        el("td", { class: "num", "data-field": "backlog" }, st.backlog),
        el("td", { class: "num", "data-field": "inFlight" }, st.inFlight),
        el("td", { class: "num" }, st.redelivered),
        el("td", { class: "num" }, st.waiting),
        el("td", { class: "num" }, st.tasksPerSecond.toFixed(1)),
      ),
    ),
    7,
    "no stages yet",
  );

  replaceRows(
    "agents",
    s.agents.map((a) =>
      el(
        "tr",
        { "data-agent": a.agentId, "data-status": a.status },
        el("td", { title: `${a.hostname} pid ${a.pid}` }, a.agentId),
        el("td", {}, a.stages.join(", ")),
        el("td", { class: `status-${a.status}` }, a.status),
        el("td", { class: "ellipsis", title: a.currentTasks.join("\n") }, a.currentTasks.join(", ") || "–"),
        el("td", { class: "num" }, fmt.age(now - a.heartbeatAt)),
        el("td", { class: "num" }, `${a.tasksDone}${a.tasksFailed ? ` (${a.tasksFailed} failed)` : ""}`),
        el("td", { class: "num" }, a.heapUsedBytes === undefined ? "–" : fmt.bytes(a.heapUsedBytes)),
        el("td", { class: "num" }, fmt.bytes(a.hostRssBytes)),
      ),
    ),
    8,
    "no agents registered",
  );

  const docs = [...s.documents, ...s.finished.slice(0, 10)];
  document.getElementById("docs-note").textContent =
    `${s.documents.length} in progress, latest ${Math.min(10, s.finished.length)} finished`;
  replaceRows(
    "documents",
    docs.map((d) => {
      const pct = d.pageCount ? Math.round((d.pagesDone / d.pageCount) * 100) : 0;
      return el(
        "tr",
        { "data-doc": d.docId, "data-status": d.status, "data-pages-done": d.pagesDone },
        el("td", { title: d.docId }, fmt.short(d.docId, 18)),
        el("td", { class: "ellipsis", title: d.source || "" }, d.source || "–"),
        el("td", { class: `status-${d.status}` }, d.status),
        el(
          "td",
          {},
          el(
            "div",
            {
              class: "bar",
              role: "progressbar",
              "aria-valuenow": pct,
              "aria-valuemin": 0,
              "aria-valuemax": 100,
            },
            fill(pct),
          ),
        ),
        el("td", { class: "num" }, `${d.pagesDone}/${d.pageCount}`),
        el("td", { class: "num" }, `${d.chunksDone}/${d.chunks}`),
        el("td", { class: "num" }, fmt.age(now - d.submittedAt)),
      );
    }),
    7,
    "no documents yet",
  );

  const failures = [
    ...s.failures.map((d) => ({ who: d.docId, code: d.errorCode, message: d.errorMessage, at: d.updatedAt })),
    ...s.taskFailures.map((f) => ({ who: f.taskId, code: f.error.code, message: f.error.message, at: f.at })),
  ].sort((a, b) => b.at - a.at);
  replaceRows(
    "failures",
    failures
      .slice(0, 20)
      .map((f) =>
        el(
          "tr",
          { "data-code": f.code },
          el("td", { title: f.who }, fmt.short(f.who, 24)),
          el("td", { class: "bad" }, f.code || "?"),
          el("td", { class: "ellipsis", title: f.message || "" }, f.message || ""),
          el("td", { class: "num" }, fmt.age(now - f.at)),
        ),
      ),
    4,
    "no failures",
  );
  replaceRows(
    "dead-letters",
    s.deadLetters.recent.map((d) =>
      el(
        "tr",
        {},
        el("td", {}, d.stage),
        el("td", { title: d.taskId || "" }, fmt.short(d.taskId || d.subject, 24)),
        el("td", { class: "ellipsis", title: d.reason || "" }, d.reason ? `${d.code}: ${d.reason}` : "–"),
        el("td", { class: "num" }, fmt.age(now - d.at)),
      ),
    ),
    4,
    "dead-letter stream is empty",
  );

  const warnAt = s.storage.warnRatio;
  document.getElementById("storage-note").textContent = s.storage.account
    ? `account: ${fmt.bytes(s.storage.account.fileBytes)} on disk${s.storage.account.maxFileBytes > 0 ? ` of ${fmt.bytes(s.storage.account.maxFileBytes)}` : ""}; warns at ${Math.round(warnAt * 100)} %`
    : "";
  replaceRows(
    "storage",
    s.storage.items.map((i) => {
      const pct = Math.min(100, Math.round(i.used * 100));
      const limit =
        i.limitedBy === "messages" ? `${i.maxMsgs} msgs` : i.maxBytes > 0 ? fmt.bytes(i.maxBytes) : "none";
      return el(
        "tr",
        { "data-name": i.name, class: i.used >= warnAt ? "high" : undefined },
        el("td", { title: i.holds }, i.name),
        el("td", {}, i.kind),
        el("td", {}, el("div", { class: "bar" }, fill(pct)), el("span", { class: "muted" }, ` ${pct} %`)),
        el(
          "td",
          { class: "num" },
          i.exists ? (i.limitedBy === "messages" ? `${i.messages} msgs` : fmt.bytes(i.bytes)) : "missing",
        ),
        el("td", { class: "num" }, limit),
        el("td", { class: "num" }, i.maxAgeMs > 0 ? fmt.age(i.maxAgeMs) : "–"),
        el("td", { class: "num" }, i.replicas),
        el("td", { class: "ellipsis", title: i.atLimit }, i.atLimit),
      );
    }),
    8,
    "no topology yet",
  );

  if (!state.eventsSeeded) {
    state.eventsSeeded = true;
    for (const e of [...s.events].reverse()) addEvent(e);
  }
  drawChart(s.series);
}

// The server describes each event (observability/event-format.ts, as `docswarm watch` does).
function describe(e) {
  return e.text ?? "";
}

function addEvent(e) {
  const list = document.getElementById("events");
  list.prepend(
    el(
      "li",
      { class: `k-${e.type.replace(".", "-")}`, "data-type": e.type },
      el("span", { class: "t" }, fmt.time(e.at)),
      `${e.type}  ${describe(e)}`,
    ),
  );
  while (list.children.length > 100) list.lastElementChild.remove();
}

function drawChart(series) {
  const canvas = document.getElementById("chart");
  const ratio = window.devicePixelRatio || 1;
  const w = canvas.clientWidth * ratio;
  const h = canvas.clientHeight * ratio;
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
  }
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, w, h);
  const pad = 28 * ratio;
  const max = Math.max(1, ...series.map((b) => b.pages));
  ctx.strokeStyle = "#22304d";
  ctx.fillStyle = "#8da2c0";
  ctx.font = `${11 * ratio}px system-ui`;
  for (const f of [0, 0.5, 1]) {
    const y = h - pad - f * (h - 2 * pad);
    ctx.beginPath();
    ctx.moveTo(pad, y);
    ctx.lineTo(w - 4, y);
    ctx.stroke();
    ctx.fillText(String(Number((max * f).toFixed(max < 10 ? 1 : 0))), 2, y + 4);
  }
  const step = (w - pad - 4) / Math.max(1, series.length - 1);
  ctx.beginPath();
  series.forEach((b, i) => {
    const x = pad + i * step;
    const y = h - pad - (b.pages / max) * (h - 2 * pad);
    if (i === 0) ctx.moveTo(x, y);
    else ctx.lineTo(x, y);
  });
  ctx.strokeStyle = "#38bdf8";
  ctx.lineWidth = 2 * ratio;
  ctx.stroke();
  ctx.lineWidth = 1;
  ctx.fillText("−5 min", pad, h - 6 * ratio);
  ctx.fillText("now", w - 30 * ratio, h - 6 * ratio);
}

// Progress shows up as it happens, between the once-a-second snapshots (one render per frame at most).
function applyEvent(e) {
  const s = state.snapshot;
  const d = s && e.docId ? s.documents.find((x) => x.docId === e.docId) : undefined;
  if (!d) return;
  if (e.type === "doc.progress") {
    d.pagesDone = Math.max(d.pagesDone, e.pagesDone);
    d.chunksDone = Math.max(d.chunksDone, e.done);
  } else if (e.type === "doc.done") {
    Object.assign(d, { status: "done", pagesDone: d.pageCount, chunksDone: d.chunks });
  } else if (e.type === "doc.failed") {
    Object.assign(d, { status: "failed", errorCode: e.error?.code, errorMessage: e.error?.message });
  } else {
    return;
  }
  if (!state.frame) {
    state.frame = requestAnimationFrame(() => {
      state.frame = 0;
      render(state.snapshot);
    });
  }
}

function connect() {
  state.source?.close();
  // The session cookie from the login travels with the stream; the token never goes in a URL.
  const source = new EventSource("/api/events");
  state.source = source;
  source.addEventListener("open", () => setConnection(true, "live"));
  source.addEventListener("error", () => setConnection(false, "reconnecting"));
  source.addEventListener("snapshot", (m) => render(JSON.parse(m.data)));
  source.addEventListener("swarm", (m) => {
    const e = JSON.parse(m.data);
    addEvent(e);
    applyEvent(e);
  });
}

async function start() {
  const res = await fetch("/api/snapshot", { credentials: "same-origin" });
  if (res.status === 401) {
    setConnection(false, "locked");
    document.getElementById("login").hidden = false;
    return;
  }
  document.getElementById("login").hidden = true;
  document.getElementById("main").hidden = false;
  render(await res.json());
  connect();
}

// The token goes once, in a header, to /login, which answers with an HttpOnly session cookie.
document.getElementById("login").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const input = document.getElementById("token-input");
  const res = await fetch("/login", {
    method: "POST",
    credentials: "same-origin",
    headers: { authorization: `Bearer ${input.value.trim()}` },
  });
  input.value = "";
  if (res.status !== 204) {
    document.getElementById("login-error").textContent = "That token was not accepted.";
    return;
  }
  document.getElementById("login-error").textContent = "";
  void start();
});
window.addEventListener("resize", () => state.snapshot && drawChart(state.snapshot.series));
void start();
