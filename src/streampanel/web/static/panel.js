/* The panel's dashboards: every number comes from a registry command, called through
   /panel/api/call with the signed-in session (the same handlers as POST /stable/). */
"use strict";

(() => {
  const MINUTE = 60 * 1000;
  const DAY = 24 * 60 * MINUTE;

  class SignedOut extends Error {}

  async function post(path, body) {
    const response = await fetch(path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    if (response.status === 401) {
      window.location.assign("login");
      throw new SignedOut("signed out");
    }
    const answer = await response.json();
    if (answer.status !== "success") throw new Error(`${answer.code}: ${answer.message}`);
    return answer;
  }

  async function call(command, params) {
    return post("api/call", { command, params: params || {} });
  }

  const integer = (n) => Number(n).toLocaleString("en-US");
  function bytes(n) {
    const units = ["B", "kB", "MB", "GB", "TB", "PB"];
    let value = Number(n);
    let unit = 0;
    while (Math.abs(value) >= 1000 && unit < units.length - 1) { value /= 1000; unit++; }
    return `${value.toFixed(unit && value < 10 ? 2 : unit ? 1 : 0)} ${units[unit]}`;
  }
  const count = (n) => (Math.abs(n) >= 1000 ? `${(n / 1000).toFixed(1)}k` : String(Math.round(n * 10) / 10));
  const pad2 = (n) => String(n).padStart(2, "0");
  const utcDate = (d) => `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}`;
  const utcDateTime = (d) => `${utcDate(d)} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;

  function status(name, message, failed) {
    const node = document.querySelector(`.status[data-for="${name}"]`);
    node.textContent = message || "";
    node.classList.toggle("failed", Boolean(failed));
    node.hidden = !message;
  }

  function row(tbody, cells, attrs) {
    const tr = document.createElement("tr");
    for (const [k, v] of Object.entries(attrs || {})) tr.setAttribute(k, String(v));
    for (const cell of cells) {
      const td = document.createElement("td");
      if (cell instanceof Node) td.appendChild(cell); else td.textContent = cell;
      tr.appendChild(td);
    }
    tbody.appendChild(tr);
    return tr;
  }

  function clear(tableId) {
    const tbody = document.querySelector(`#${tableId} tbody`);
    tbody.textContent = "";
    return tbody;
  }

  function groupSeries(rows, seriesOf, xOf, yOf) {
    const byName = new Map();
    for (const r of rows) {
      const name = seriesOf(r);
      if (!byName.has(name)) byName.set(name, new Map());
      const points = byName.get(name);
      points.set(xOf(r), (points.get(xOf(r)) || 0) + yOf(r));
    }
    return [...byName.entries()]
      .sort((a, b) => a[0].localeCompare(b[0]))
      .map(([name, points]) => ({ name, points: [...points.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([x, y]) => ({ x, y })) }));
  }

  let apps = [];
  const selectedApps = () => {
    const value = document.getElementById("app").value;
    return value ? [Number(value)] : apps.map((a) => a.id);
  };

  async function loadApps() {
    apps = (await call("video.getapps")).data;
    const select = document.getElementById("app");
    for (const app of apps) {
      const option = document.createElement("option");
      option.value = app.id;
      option.textContent = app.name;
      select.appendChild(option);
    }
  }

  async function loadTraffic() {
    if (!apps.length) { status("traffic", "No applications yet."); return; }
    const rows = (await call("video.servers", { app: selectedApps() })).data;
    const days = [...new Set(rows.map((r) => r.date))].sort();
    Charts.line(document.getElementById("chart-traffic-bytes"),
      groupSeries(rows, (r) => r.server, (r) => r.date, (r) => r.bytes_total), days, bytes, { label: "bytes per day and server" });
    Charts.line(document.getElementById("chart-traffic-requests"),
      groupSeries(rows, (r) => r.server, (r) => r.date, (r) => r.requests_total), days, count, { label: "requests per day and server" });
    const tbody = clear("table-traffic");
    const last = days[days.length - 1];
    const servers = [...new Set(rows.map((r) => r.server))].sort();
    for (const server of servers) {
      const mine = rows.filter((r) => r.server === server);
      const today = mine.filter((r) => r.date === last);
      const sum = (list, key) => list.reduce((total, r) => total + r[key], 0);
      row(tbody, [server, integer(sum(mine, "bytes_total")), integer(sum(mine, "requests_total")),
        integer(sum(today, "bytes_total")), integer(sum(today, "requests_total"))], { "data-server": server });
    }
    status("traffic", rows.length ? "" : "No traffic in the period.");
  }

  async function loadStorage() {
    const start = utcDate(new Date(Date.now() - 29 * DAY));
    const rows = (await call("disk.usage", { cpu: "", starttime: start })).usage;
    const days = [...new Set(rows.map((r) => r.summary_date))].sort();
    Charts.line(document.getElementById("chart-storage"),
      groupSeries(rows, (r) => r.cpu_user, (r) => r.summary_date, (r) => r.bytes_total), days, bytes, { label: "disk bytes per storage user" });
    const tbody = clear("table-storage");
    const latest = new Map();
    for (const r of rows) latest.set(r.cpu_user, r);
    for (const [user, r] of [...latest.entries()].sort()) {
      row(tbody, [user, r.summary_date, integer(r.bytes_total)], { "data-user": user });
    }
    status("storage", rows.length ? "" : "No disk measurements in the period.");
  }

  async function loadViewersNow() {
    if (!apps.length) { status("viewers", "No applications yet."); return; }
    const rows = (await call("viewer.livedetailed", { app: selectedApps(), url: "*" })).data;
    const streams = new Map();
    for (const r of rows) {
      const key = `${r.app}/${r.stream}`;
      const entry = streams.get(key) || { app: r.app, stream: r.stream, viewers: 0, servers: new Set() };
      entry.viewers += r.viewers;
      entry.servers.add(r.server);
      streams.set(key, entry);
    }
    const items = [...streams.entries()].sort((a, b) => b[1].viewers - a[1].viewers || a[0].localeCompare(b[0]));
    Charts.bars(document.getElementById("chart-viewers-now"), items.map(([label, e]) => ({ label, value: e.viewers })), integer, { label: "viewers now per stream" });
    const tbody = clear("table-viewers");
    for (const [key, e] of items) {
      row(tbody, [e.app, e.stream, [...e.servers].sort().join(", "), integer(e.viewers)], { "data-stream": key });
    }
    const newest = rows.map((r) => r.updated).sort().pop();
    document.getElementById("viewers-updated").textContent = newest ? `as of ${newest} UTC` : "";
    status("viewers", rows.length ? "" : "Nobody is watching right now.");
  }

  async function loadViewerHistory() {
    if (!apps.length) return;
    const hours = Number(document.getElementById("viewer-hours").value);
    const end = new Date();
    const params = { app: selectedApps(), url: "*", starttime: utcDateTime(new Date(end - hours * 60 * MINUTE)), endtime: utcDateTime(end), limit: 10000 };
    let rows = [];
    for (let offset = 0; ; offset += params.limit) {
      const page = (await call("viewer.livedetailed", Object.assign({}, params, { offset }))).data;
      rows = rows.concat(page);
      if (page.length < params.limit) break;
    }
    const minutes = [...new Set(rows.map((r) => r.updated))].sort();
    Charts.line(document.getElementById("chart-viewers-history"),
      groupSeries(rows, (r) => `${r.app}/${r.stream}`, (r) => r.updated, (r) => r.viewers), minutes, count,
      { label: "viewers per stream over time", markers: false, xLabel: (x) => x.slice(11, 16) });
  }

  function progress(record) {
    const wrap = document.createElement("span");
    wrap.className = "progress";
    const bar = document.createElement("progress");
    bar.max = Math.max(1, record.bytes_total);
    bar.value = record.bytes_done;
    const percent = record.bytes_total ? Math.floor((100 * record.bytes_done) / record.bytes_total) : 0;
    wrap.appendChild(bar);
    wrap.appendChild(document.createTextNode(` ${percent}% · ${integer(record.bytes_done)} / ${integer(record.bytes_total)}`));
    return wrap;
  }

  function stateBadge(state) {
    const badge = document.createElement("span");
    badge.className = `badge ${state}`;
    badge.textContent = state;
    return badge;
  }

  async function loadUploads() {
    const aws = (await call("aws.status", { limit: 25 })).data;
    const ids = (await post("api/youtube-jobs", {})).data;
    const youtube = await Promise.all(ids.map(async (id) => (await call("youtube.status", { id })).data));
    const tbody = clear("table-uploads");
    const records = aws.map((r) => ["aws", r]).concat(youtube.map((r) => ["youtube", r]));
    records.sort((a, b) => b[1].created.localeCompare(a[1].created) || b[1].id - a[1].id);
    for (const [kind, r] of records) {
      const target = kind === "aws" ? `s3://${r.bucket}/${r.destination_path}` : `${r.title} (${r.visibility})`;
      row(tbody, [kind === "aws" ? "S3" : "YouTube", String(r.id), r.path, target, stateBadge(r.state), progress(r), r.last_updated, r.message],
        { "data-kind": kind, "data-id": r.id, "data-state": r.state, "data-bytes-done": r.bytes_done, "data-bytes-total": r.bytes_total });
    }
    status("uploads", records.length ? "" : "No upload requests yet.");
  }

  async function guarded(name, load) {
    try {
      await load();
    } catch (error) {
      if (error instanceof SignedOut) return;
      status(name, `Could not load: ${error.message}`, true);
    }
  }

  async function loadAll() {
    await Promise.all([
      guarded("traffic", loadTraffic),
      guarded("storage", loadStorage),
      guarded("viewers", async () => { await loadViewersNow(); await loadViewerHistory(); }),
      guarded("uploads", loadUploads),
    ]);
    document.body.dataset.loaded = "true";
  }

  async function start() {
    try {
      await loadApps();
    } catch (error) {
      if (error instanceof SignedOut) return;
      status("traffic", `Could not load applications: ${error.message}`, true);
    }
    document.getElementById("app").addEventListener("change", () => {
      guarded("traffic", loadTraffic);
      guarded("viewers", async () => { await loadViewersNow(); await loadViewerHistory(); });
    });
    document.getElementById("viewer-hours").addEventListener("change", () => guarded("viewers", loadViewerHistory));
    await loadAll();
    // What is live changes every minute; the rest is daily.
    setInterval(() => guarded("viewers", loadViewersNow), MINUTE);
    setInterval(() => guarded("uploads", loadUploads), 10 * 1000);
  }

  document.addEventListener("DOMContentLoaded", start);
})();
