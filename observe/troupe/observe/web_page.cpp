#include "troupe/observe/web.hpp"

namespace troupe::observe {

// The whole web view: no external script, style sheet or font, so it works offline.
const char* const web_page = R"HTML(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>troupe</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; background: #f4f5f7; color: #1d2330; }
  header { background: #1d2330; color: #fff; padding: 10px 18px; display: flex; gap: 18px;
           align-items: baseline; }
  header h1 { font-size: 18px; margin: 0; }
  header .meta { color: #aab; font-size: 13px; }
  #stale { color: #ffb454; font-weight: 600; }
  main { padding: 14px 18px; display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr);
         gap: 16px; }
  h2 { font-size: 15px; margin: 4px 0 8px; }
  #nodes { display: flex; flex-wrap: wrap; gap: 12px; align-content: flex-start; }
  .node { background: #fff; border-radius: 6px; border-top: 4px solid #2e9e5b; padding: 8px 12px;
          min-width: 260px; flex: 1; box-shadow: 0 1px 2px rgba(0,0,0,.1); }
  .node.bad { border-top-color: #d64545; background: #fff6f6; }
  .node.warn { border-top-color: #e0a000; }
  .node h3 { margin: 0; font-size: 16px; display: flex; justify-content: space-between; }
  .stats { color: #556; font-size: 12px; margin: 2px 0 6px; }
  .badge { font-size: 11px; padding: 1px 6px; border-radius: 8px; background: #2e9e5b; color: #fff;
           font-weight: 600; white-space: nowrap; }
  .badge.bad { background: #d64545; } .badge.warn { background: #e0a000; }
  .badge.off { background: #889; }
  ul.tree { list-style: none; margin: 0; padding-left: 14px; border-left: 1px dashed #bbc; }
  ul.tree.top { border-left: none; padding-left: 0; }
  ul.tree li { margin: 3px 0; }
  .sup { font-weight: 600; }
  .actor { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
  .actor .name { font-weight: 600; } .muted { color: #778; font-size: 12px; }
  .exit { color: #b03030; font-size: 12px; }
  table { border-collapse: collapse; width: 100%; background: #fff; font-size: 13px; }
  th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #e3e5ea; }
  th { background: #eceef2; font-weight: 600; }
  #timeline { background: #fff; max-height: 480px; overflow-y: auto; font-size: 13px; }
  #timeline div { padding: 3px 8px; border-bottom: 1px solid #eee; }
  .k-child_exited, .k-node_lost, .k-peer_lost, .k-child_start_failed { color: #b03030; }
  .k-supervisor_gave_up, .k-launcher_gave_up { color: #fff; background: #b03030; }
  .k-child_restarted, .k-node_restarted, .k-peer_reconnected { color: #1d6b3d; }
  .time { color: #889; font-family: monospace; }
</style>
</head>
<body>
<header><h1>troupe <span id="app">…</span></h1>
  <span class="meta" id="meta"></span><span id="stale"></span></header>
<main>
  <section><h2>Nodes and supervision trees</h2><div id="nodes"></div>
    <h2 style="margin-top:16px">Bridges</h2>
    <table id="bridges"><thead><tr><th>node</th><th>peer</th><th>transport</th><th>state</th>
      <th>frames/s</th><th>bytes/s</th><th>round trip</th><th>drops</th><th>pending</th>
      <th>queue</th></tr></thead><tbody></tbody></table></section>
  <section><h2>Timeline</h2><div id="timeline"></div></section>
</main>
<script>
"use strict";
let prev = null;          // the previous status, for rates
let lastEvent = 0;        // newest event time seen (Unix ms)
const esc = s => String(s ?? "").replace(/[&<>"]/g, c => ({"&":"&amp;","<":"&lt;",">":"&gt;",
  '"':"&quot;"}[c]));
const fmtBytes = b => b >= 1 << 30 ? (b / (1 << 30)).toFixed(1) + " GiB" : b >= 1 << 20 ?
  (b / (1 << 20)).toFixed(1) + " MiB" : b >= 1024 ? (b / 1024).toFixed(1) + " KiB" : b + " B";
const fmtDur = s => s >= 3600 ? Math.floor(s / 3600) + "h" + Math.floor(s % 3600 / 60) + "m" :
  s >= 60 ? Math.floor(s / 60) + "m" + Math.floor(s % 60) + "s" : Math.floor(s) + "s";
const fmtRate = x => x == null ? "–" : x >= 100 ? x.toFixed(0) : x.toFixed(1);
function stateClass(s) {
  if (s === "running") return "";
  if (s === "restarting" || s === "unreachable") return "warn";
  if (!s || s === "unknown" || s.startsWith("not started")) return "off";
  return "bad";
}
// name -> {handled, mailbox} of every actor (unsupervised or supervised name) of a node report
function counts(report) {
  const out = {};
  if (!report) return out;
  for (const a of report.actors || []) out[a.name] = a;
  for (const r of report.relays || []) out[r.name] = r;
  return out;
}
function rate(nodeName, actor, now, cur) {
  if (!prev || !cur || cur.handled == null) return null;
  const pn = prev.nodes.find(n => n.node === nodeName);
  const pc = pn && counts(pn.report)[actor];
  if (!pc || pc.handled == null || now <= prev.time_ms || cur.handled < pc.handled) return null;
  return (cur.handled - pc.handled) * 1000 / (now - prev.time_ms);
}
function actorLine(st, name, extra) {
  return `<div class="actor" data-actor="${esc(name)}" data-state="${esc(st.state)}">` +
    `<span class="name">${esc(name)}</span>${extra}</div>`;
}
function render(st) {
  document.getElementById("app").textContent = st.app;
  document.getElementById("meta").textContent = (st.launcher_pid ? "launcher pid " +
    st.launcher_pid + " · " : "") + "updated " + new Date(st.time_ms).toLocaleTimeString();
  const placement = {};
  for (const a of st.actors || []) placement[a.name] = a;
  const html = [];
  for (const n of st.nodes) {
    const r = n.report, cls = stateClass(n.state), c = counts(r);
    let cpu = "–";
    if (r && prev) {
      const pn = prev.nodes.find(x => x.node === n.node);
      if (pn && pn.report && pn.report.process && r.process.now_ms > pn.report.process.now_ms &&
          r.process.cpu_ms >= pn.report.process.cpu_ms)
        cpu = ((r.process.cpu_ms - pn.report.process.cpu_ms) * 100 /
               (r.process.now_ms - pn.report.process.now_ms)).toFixed(1) + " %";
    }
    const p = r && r.process;
    html.push(`<div class="node ${cls}" data-node="${esc(n.node)}" data-state="${esc(n.state)}"` +
      ` data-restarts="${n.restarts}"><h3><span>${esc(n.node)}</span>` +
      `<span class="badge ${cls}">${esc(n.state)}</span></h3><div class="stats">` +
      `pid ${n.pid || (r && r.pid) || "–"} · restarts ${n.restarts} · CPU ${cpu} · RSS ` +
      `${p ? fmtBytes(p.rss_bytes) : "–"} · up ${p ? fmtDur((p.now_ms - p.started_ms) / 1000) :
      "–"}${n.last_exit ? ` · <span class="exit">last exit: ${esc(n.last_exit)}</span>` : ""}` +
      `${n.error && n.state !== "not started by troupe run" ? `<br><span class="muted">` +
      `${esc(n.error)}</span>` : ""}</div><ul class="tree top">`);
    const shown = new Set();
    const supOf = {};
    for (const s of (r && r.supervisors) || []) if (s) supOf[s.supervisor] = s;
    // Supervisors of this node, nested ones inside their parents.
    const specSups = (st.supervisors || []).filter(s => s.node === n.node);
    const nested = new Set(specSups.flatMap(s => s.children));
    const drawSup = spec => {
      shown.add(spec.name);
      const s = supOf[spec.name];
      let out = `<li><div class="sup actor" data-actor="${esc(spec.name)}" data-state="` +
        `${s ? "running" : "unknown"}">supervisor ${esc(spec.name)} <span class="muted">` +
        `${esc(spec.strategy)}</span></div><ul class="tree">`;
      for (const child of spec.children) {
        const sub = specSups.find(x => x.name === child);
        if (sub) { out += drawSup(sub); continue; }
        shown.add(child);
        const cs = s && s.children.find(x => x.name === child);
        const where = placement[child] ? placement[child].node : n.node;
        const state = cs ? cs.state : "unknown";
        const msgs = rate(n.node, child, st.time_ms, c[child]);
        out += "<li>" + actorLine({state}, child, `<span class="badge ${stateClass(state)}">` +
          `${esc(state)}</span><span class="muted">${esc(placement[child] ?
          placement[child].type : "")} on ${esc(where)} · restarts ${cs ? cs.restarts : "–"} · ` +
          `${fmtRate(msgs)} msg/s · mailbox ${c[child] && c[child].mailbox != null ?
          c[child].mailbox : "–"}</span>${cs && cs.last_exit ? `<span class="exit">last exit: ` +
          `${esc(cs.last_exit)}</span>` : ""}`) + "</li>";
      }
      return out + "</ul></li>";
    };
    for (const s of specSups) if (!nested.has(s.name)) html.push(drawSup(s));
    for (const a of st.actors || []) {
      if (a.node !== n.node || shown.has(a.name) || a.supervisor) continue;
      const ra = r && r.actors.find(x => x.name === a.name);
      const state = ra ? ra.state : (r ? "unknown" : n.state === "running" ? "unknown" : n.state);
      const msgs = rate(n.node, a.name, st.time_ms, ra);
      html.push("<li>" + actorLine({state}, a.name, `<span class="badge ${stateClass(state)}">` +
        `${esc(state)}</span><span class="muted">${esc(a.type)} · ${fmtRate(msgs)} msg/s · ` +
        `mailbox ${ra && ra.mailbox != null ? ra.mailbox : "–"} · handled ` +
        `${ra && ra.handled != null ? ra.handled : "–"}</span>`) + "</li>");
    }
    // Remotely supervised children placed here appear under their supervisor's node.
    for (const a of st.actors || [])
      if (a.node === n.node && a.supervisor &&
          !specSups.some(s => s.name === a.supervisor))
        html.push(`<li class="muted">${esc(a.name)}: supervised by ${esc(a.supervisor)}` +
                  ` on another node</li>`);
    html.push("</ul></div>");
  }
  document.getElementById("nodes").innerHTML = html.join("");
  const rows = [];
  const appNodes = new Set(st.nodes.map(n => n.node));
  let tools = 0;
  for (const n of st.nodes) {
    const b = n.report && n.report.bridges;
    if (!b) continue;
    const pn = prev && prev.nodes.find(x => x.node === n.node);
    const pb = pn && pn.report && pn.report.bridges;
    const dt = prev ? (st.time_ms - prev.time_ms) / 1000 : 0;
    for (const p of b.peers) {
      if (!appNodes.has(p.peer)) { ++tools; continue; } // troupe call/ps/top, this view, clients
      const pp = pb && pb.peers.find(x => x.peer === p.peer);
      const fr = pp && dt > 0 ? (p.frames_in + p.frames_out - pp.frames_in - pp.frames_out) / dt
                              : null;
      const by = pp && dt > 0 ? (p.bytes_in + p.bytes_out - pp.bytes_in - pp.bytes_out) / dt
                              : null;
      rows.push(`<tr data-bridge="${esc(n.node)}-${esc(p.peer)}"><td>${esc(n.node)}</td><td>` +
        `${esc(p.peer)}</td><td>${esc(p.transport)}</td><td>${p.connected ? "up" : "down"}</td>` +
        `<td>${fmtRate(fr != null && fr >= 0 ? fr : null)}</td><td>${by != null && by >= 0 ?
        fmtBytes(Math.round(by)) + "/s" : "–"}</td><td>${p.rtt_count ? (p.rtt_last_us / 1000)
        .toFixed(2) + " ms" : "–"}</td><td>${p.dropped}</td><td>${p.pending}</td><td>` +
        `${b.queue_depth}</td></tr>`);
    }
  }
  if (tools)
    rows.push(`<tr><td colspan="10" class="muted">and ${tools} session(s) of tools and ` +
              `clients (this view, troupe call/ps/top, Python clients)</td></tr>`);
  document.querySelector("#bridges tbody").innerHTML = rows.join("") ||
    `<tr><td colspan="10" class="muted">no bridges</td></tr>`;
  prev = st;
}
function addEvents(events) {
  const box = document.getElementById("timeline");
  for (const e of events) {
    lastEvent = Math.max(lastEvent, e.t);
    const rest = Object.entries(e).filter(([k]) => !["ts", "t", "app", "source", "kind"]
      .includes(k)).map(([k, v]) => `${esc(k)}=${esc(v)}`).join(" ");
    const div = document.createElement("div");
    div.className = "event k-" + e.kind;
    div.dataset.kind = e.kind;
    div.innerHTML = `<span class="time">${esc(e.ts.slice(11, 23))}</span> ` +
      `<b>${esc(e.kind)}</b> <span class="muted">${esc(e.source)}</span> ${rest}`;
    box.insertBefore(div, box.firstChild);
  }
  while (box.childElementCount > 500) box.removeChild(box.lastChild);
}
async function pollStatus() {
  try {
    const res = await fetch("api/status", {cache: "no-store"});
    render(await res.json());
    document.getElementById("stale").textContent = "";
  } catch (e) {
    document.getElementById("stale").textContent = "launcher not answering";
  }
  setTimeout(pollStatus, 500);
}
async function pollEvents() {
  try {
    const res = await fetch("api/events?since=" + lastEvent, {cache: "no-store"});
    addEvents(await res.json());
  } catch (e) { /* the status poll reports it */ }
  setTimeout(pollEvents, 1000);
}
pollStatus();
pollEvents();
</script>
</body>
</html>
)HTML";

} // namespace troupe::observe
