import type { WorkerBeat } from "../workers/worker-heartbeat.js";
import { escapeHtml as h } from "./escape-html.js";

/** Pure: the connected workers (by heartbeat), one row each; every value escaped. `problem`: why none could be read. */
export function workersPage(workers: WorkerBeat[], problem?: string): string {
  const rows = workers
    .map(
      (w) =>
        `<tr><td>${h(w.name)}</td><td>${w.labels.map((l) => `<code>${h(l)}</code>`).join(" ") || "<small>none</small>"}</td><td>${h(w.running.length)} of ${h(w.concurrency)}${w.running.map((id) => `<br><a href="/builds/${h(encodeURIComponent(id))}">${h(id.slice(0, 8))}</a>`).join("")}</td><td>${time(w.startedAt)}</td><td>${time(w.lastSeen)}</td></tr>`,
    )
    .join("");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>Workers · pyci</title>
<style>
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:80rem;padding:0 1rem;color:#1f2328}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #d0d7de;padding:.3rem .6rem;text-align:left;vertical-align:top}
code{font-size:90%}.problem{color:#cf222e}
</style></head><body>
<h1>Workers</h1>
<p>The <code>pyci worker</code>s connected to this server's Redis now: each says so every few seconds, and is gone from this list about ten seconds after it stops. <a href="/builds">Builds</a></p>
${problem ? `<p class="problem">${h(problem)}</p>` : ""}
${
  workers.length === 0
    ? "<p>No worker is connected.</p>"
    : `<table id="workers"><thead><tr><th>Name</th><th>Labels</th><th>Running builds</th><th>Started</th><th>Last seen</th></tr></thead><tbody>${rows}</tbody></table>`
}
</body></html>`;
}

function time(iso: string): string {
  return `<time datetime="${h(iso)}">${h(iso.replace("T", " ").replace(/\.\d+Z$/, " UTC"))}</time>`;
}
