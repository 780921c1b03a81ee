import type { StepResult } from "../pipeline/types.js";
import { formatDuration } from "../report/summary-markdown.js";
import type { BuildRecord } from "../store/build-store.js";
import { escapeHtml as h } from "./escape-html.js";

const ANSI = /\u001b\[[0-9;?]*[ -/]*[@-~]/g;

/** Pure: the build's output page, server-rendered, every value escaped. */
export function buildPage(build: BuildRecord, logs: { step: string; text: string; truncated: boolean }[]): string {
  const title = `${build.owner}/${build.repo} ${build.sha.slice(0, 7)}: ${build.state}`;
  const pr = build.prNumber !== undefined
    ? `<a href="${h(safeUrl(build.prUrl))}">#${h(build.prNumber)}</a> ${h(build.prTitle ?? "")}`
    : "";
  const steps = build.steps.map(stepRow).join("");
  const failing = build.steps.flatMap((s) => s.tests ?? []).filter((t) => t.outcome === "fail" || t.outcome === "error" || t.outcome === "unexpected_success");
  const failures = failing.length
    ? `<h2>Failing tests (${failing.length})</h2>${failing.map((t) => `<details open><summary><code>${h(t.id)}</code> ${h(t.outcome)}${t.file ? ` at <code>${h(t.file)}:${h(t.line)}</code>` : ""}</summary><pre>${h(t.traceback ?? t.message ?? "")}</pre></details>`).join("")}`
    : "";
  const diagnostics = build.steps.flatMap((s) => s.diagnostics ?? []);
  const problems = diagnostics.length
    ? `<h2>Problems (${diagnostics.length})</h2><ul>${diagnostics.map((d) => `<li><code>${h(d.file)}:${h(d.line)}:${h(d.column)}</code> ${h(d.syntax ? "syntax error" : d.severity)}: ${h(d.message)}${d.rule && !d.syntax ? ` <small>(${h(d.rule)})</small>` : ""}</li>`).join("")}</ul>`
    : "";
  const output = logs
    .map(({ step, text, truncated }) => `<h3 id="log-${h(step)}">${h(step)} <small><a href="/builds/${h(build.id)}/${h(step)}.log">raw</a></small></h3>${truncated ? `<p>Showing the end of the log; <a href="/builds/${h(build.id)}/${h(step)}.log">the whole log</a>.</p>` : ""}<pre class="log">${h(text.replace(ANSI, ""))}</pre>`)
    .join("");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${h(title)} · pyci</title>
<style>
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#1f2328}
table{border-collapse:collapse}td,th{border:1px solid #d0d7de;padding:.3rem .6rem;text-align:left}
pre{background:#f6f8fa;padding:.8rem;overflow:auto;white-space:pre-wrap;word-break:break-word}
.success{color:#1a7f37}.failure,.error{color:#cf222e}.queued,.running{color:#9a6700}
</style></head><body>
<h1>${h(build.owner)}/${h(build.repo)} <span class="${h(build.state)}">${h(build.state)}</span></h1>
<p>Commit <code>${h(build.sha)}</code> ${pr}<br>Event ${h(build.event)} · created ${h(build.createdAt)}${build.finishedAt ? ` · finished ${h(build.finishedAt)}` : ""}</p>
${build.error ? `<p class="error">${h(build.error)}</p>` : ""}
<h2>Steps</h2>
<table><tr><th>Step</th><th>Result</th><th>Duration</th><th>Summary</th></tr>${steps}</table>
${failures}${problems}
<h2>Output</h2>${output || "<p>No output yet.</p>"}
</body></html>`;
}

function stepRow(s: StepResult): string {
  return `<tr><td><a href="#log-${h(s.name)}">${h(s.name)}</a></td><td class="${h(s.state)}">${h(s.state)}</td><td>${h(formatDuration(s.durationMs))}</td><td>${h(s.summary)}</td></tr>`;
}

function safeUrl(url: string | undefined): string {
  return url && /^https?:\/\//.test(url) ? url : "#";
}
