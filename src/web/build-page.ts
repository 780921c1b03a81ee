import type { Diagnostic, StepResult, TestCaseResult } from "../pipeline/types.js";
import { describeTestCounts } from "../pipeline/describe-test-counts.js";
import { formatDuration } from "../report/summary-markdown.js";
import { testLabel } from "../report/test-label.js";
import { plural } from "../text/plural.js";
import { diagnosticKind, diagnosticPlace } from "../report/diagnostic-place.js";
import type { BuildRecord } from "../store/build-store.js";
import { UNFINISHED_STATES } from "../store/build-record.js";
import { assetModule } from "./asset-module.js";
import type * as FormatBytes from "./assets/format-bytes.js";
import { escapeHtml as h } from "./escape-html.js";
import type { LogWindow } from "./log-window.js";
import { renderLogWindow } from "./render-log-window.js";

export interface BuildPageOptions {
  /** The page's script (log-viewer.js), with its version. */
  scriptSrc: string;
  /** A step shown from an earlier point than its tail (`?step=&before=`): the page is not live then. */
  focus?: string;
  /** What the build waits for before it starts ("Waits for a worker with labels big: none connected"). */
  waiting?: string;
}

/** The page's script words the sizes it updates with the same module. */
const { formatBytes } = await assetModule<typeof FormatBytes>("format-bytes.js");

const FAILED: readonly string[] = ["fail", "error", "unexpected_success"];
const SEVERITY_ORDER: readonly string[] = ["error", "warning", "information"];

/**
 * Pure: the build's page, server-rendered, every value escaped. It is whole
 * without JavaScript; its script (loaded from scriptSrc, the only script the
 * page's CSP allows) loads earlier output in place and, while the build is
 * queued or running (`data-live` on <main>), follows /builds/<id>/events.
 *
 * `logs` holds a window of each step's log (its tail, or for `focus` an earlier
 * part): never a whole log. A step with a log but no result yet is running.
 */
export function buildPage(build: BuildRecord, logs: LogWindow[], options: BuildPageOptions): string {
  const unfinished = UNFINISHED_STATES.includes(build.state);
  const live = unfinished && options.focus === undefined;
  const title = `${build.owner}/${build.repo} ${build.sha.slice(0, 7)}: ${build.state}`;
  const results = new Map(build.steps.map((s) => [s.name, s]));
  const running = logs.filter((l) => !results.has(l.step)).map((l) => l.step);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${h(title)} · pyci</title>
<style>${STYLE}</style>
<script type="module" src="${h(options.scriptSrc)}"></script>
</head><body>
<main id="build" data-build="${h(build.id)}"${live ? " data-live" : ""}>
${header(build)}
${options.waiting ? `<p id="waiting" class="problem">${h(options.waiting)}</p>` : ""}
<h2>Steps</h2>
<table id="steps"><thead><tr><th>Step</th><th>Result</th><th>Duration</th><th>Summary</th></tr></thead><tbody>${build.steps.map(stepRow).join("")}${running.map((name) => pendingRow(name, unfinished)).join("")}</tbody></table>
<div id="results">${testResults(build.steps)}${diagnostics(build.steps)}</div>
<h2>Output</h2>
<div id="logs">${logs.map((log) => logSection(build, log, results.get(log.step), unfinished, options.focus === log.step)).join("") || `<p id="no-output">No output yet.</p>`}</div>
</main>
</body></html>`;
}

function header(build: BuildRecord): string {
  const pr =
    build.prNumber !== undefined
      ? ` · <a href="${h(safeUrl(build.prUrl))}">#${h(build.prNumber)}</a> ${h(build.prTitle ?? "")}`
      : "";
  const took =
    build.startedAt && build.finishedAt
      ? ` · took ${h(formatDuration(Date.parse(build.finishedAt) - Date.parse(build.startedAt)))}`
      : "";
  return `<header id="summary">
<h1>${h(build.owner)}/${h(build.repo)} <span id="build-state" class="state s-${h(build.state)}">${h(build.state)}</span></h1>
<p class="meta">Commit <code>${h(build.sha)}</code>${build.branch ? ` on <code>${h(build.branch)}</code>` : ""}${pr}<br>
${h(build.event)} · ${h(build.pipeline)} pipeline · created ${time(build.createdAt)}${build.startedAt ? ` · started ${time(build.startedAt)}` : ""}${build.finishedAt ? ` · finished ${time(build.finishedAt)}` : ""}${took}</p>
${build.error ? `<p class="problem">${h(build.error)}</p>` : ""}
</header>`;
}

function stepRow(s: StepResult): string {
  const said = [
    ...(s.advice ? [`<br><small class="advice">What to do: ${h(s.advice)}</small>`] : []),
    ...(s.notes ?? []).map((note) => `<br><small class="note">${h(note)}</small>`),
  ].join("");
  return `<tr data-step="${h(s.name)}"><td><a href="#log-${h(s.name)}">${h(s.name)}</a></td><td><span class="state s-${h(s.state)}">${h(s.state)}</span></td><td class="dur">${h(formatDuration(s.durationMs))}</td><td>${h(s.summary)}${s.reused ? ` <small class="reused">(reused from <a href="${h(encodeURIComponent(s.reused.buildId))}">build ${h(s.reused.buildId.slice(0, 8))}</a> of ${time(s.reused.createdAt)}: the same tree, tools and configuration)</small>` : ""}${said}</td></tr>`;
}

/** A step with a log and no result: running while the build is, else it never reported one. */
function pendingRow(name: string, unfinished: boolean): string {
  const state = unfinished ? "running" : "unknown";
  return `<tr data-step="${h(name)}"><td><a href="#log-${h(name)}">${h(name)}</a></td><td><span class="state s-${state}">${state}</span></td><td class="dur"></td><td></td></tr>`;
}

/**
 * unittest's counts in the words of the commit status; failures first, each
 * with its traceback; then the tests that failed only in a parallel run (they
 * passed alone: counted as passed); then skips with their reasons; passes folded away.
 */
function testResults(steps: StepResult[]): string {
  const tests = steps.flatMap((s) => s.tests ?? []);
  if (tests.length === 0) return "";
  const failed = tests.filter((t) => FAILED.includes(t.outcome));
  const skipped = tests.filter((t) => t.outcome === "skip" || t.outcome === "expected_failure");
  const passed = tests.filter((t) => t.outcome === "pass");
  const counts = steps.flatMap((s) => (s.testCounts ? [describeTestCounts(s.testCounts)] : []));
  const parts = [`<h2>Tests</h2><p class="meta">${h(counts.join(" · "))}</p>`];
  if (failed.length)
    parts.push(
      `<section id="failures"><h3>Failing tests (${failed.length})</h3>${failed.map(failure).join("")}</section>`,
    );
  const parallelOnly = tests.filter((t) => t.onlyInParallel);
  if (parallelOnly.length)
    parts.push(
      `<section id="parallel-only"><h3>Failing only in parallel (${parallelOnly.length})</h3><p class="meta">They failed beside the other test processes (test.parallel) and passed when run again alone: counted as passed. Shared state between tests is the usual cause.</p><ul>${parallelOnly.map(parallelFailure).join("")}</ul></section>`,
    );
  if (skipped.length) {
    parts.push(
      `<details><summary>Skipped (${skipped.length})</summary><ul>${skipped.map((t) => `<li><code>${h(testLabel(t))}</code> ${h(t.outcome === "skip" ? "skipped" : "expected failure")}${t.message ? `: ${h(t.message)}` : ""}</li>`).join("")}</ul></details>`,
    );
  }
  if (passed.length) {
    parts.push(
      `<details><summary>Passed (${passed.length})</summary><ul>${passed.map((t) => `<li><code>${h(testLabel(t))}</code> <small>${h(formatDuration(t.durationMs))}</small></li>`).join("")}</ul></details>`,
    );
  }
  return parts.join("");
}

function failure(t: TestCaseResult): string {
  const where = t.file ? ` at <code>${h(t.file)}:${h(t.line)}</code>` : "";
  const outcome =
    t.outcome === "unexpected_success" ? "unexpected success" : t.outcome === "error" ? "error" : "failed";
  return `<details class="failure" open><summary><code>${h(testLabel(t))}</code> <span class="s-failure">${outcome}</span>${where}</summary><pre>${h(t.traceback ?? t.message ?? "")}</pre></details>`;
}

function parallelFailure(t: TestCaseResult): string {
  const f = t.onlyInParallel!;
  const where = f.file ? ` at <code>${h(f.file)}:${h(f.line)}</code>` : "";
  return `<li><code>${h(testLabel(t))}</code> ${h(f.outcome === "error" ? "error" : "failed")}${where}${f.message ? `: ${h(f.message)}` : ""}</li>`;
}

/** pyright's (and other tools') findings, errors first; a syntax error's follow-ons last, not counted. */
function diagnostics(steps: StepResult[]): string {
  const found = steps.flatMap((s) => (s.diagnostics ?? []).map((d) => ({ step: s, d })));
  if (found.length === 0) return "";
  found.sort((a, b) => rank(a.d) - rank(b.d));
  const rows = found.map(
    ({ step, d }) =>
      `<tr><td>${d.file === undefined ? "" : `<code>${h(diagnosticPlace(d))}</code>`}</td><td class="sev-${h(d.followOn ? "information" : d.severity)}">${h(diagnosticKind(d, step.enforced ?? true))}</td><td>${h(d.message)}${d.rule && !d.syntax ? ` <small>(${h(d.rule)})</small>` : ""}</td><td>${h(step.name)}</td></tr>`,
  );
  const followOns = found.filter(({ d }) => d.followOn).length;
  const count = `${found.length - followOns}${followOns > 0 ? `; ${plural(followOns, "follow-on parse error")}, not counted` : ""}`;
  return `<section id="diagnostics"><h2>Diagnostics (${h(count)})</h2><table><thead><tr><th>Where</th><th>Severity</th><th>Message</th><th>Step</th></tr></thead><tbody>${rows.join("")}</tbody></table></section>`;
}

function rank(d: Diagnostic): number {
  if (d.followOn) return SEVERITY_ORDER.length;
  return d.syntax ? -1 : SEVERITY_ORDER.indexOf(d.severity);
}

function logSection(
  build: BuildRecord,
  log: LogWindow,
  result: StepResult | undefined,
  unfinished: boolean,
  focused: boolean,
): string {
  const step = h(log.step);
  const rendered = renderLogWindow(log);
  const state = result?.state ?? (unfinished ? "running" : "unknown");
  const base = `/builds/${h(build.id)}`;
  const earlier =
    log.start > 0
      ? `<p class="earlier" data-start="${log.start}"><a href="${base}?step=${step}&amp;before=${log.start}#log-${step}">Load earlier output</a> <small>(${h(formatBytes(log.start))} before line ${log.firstLine})</small></p>`
      : "";
  const later =
    focused && log.end < log.size
      ? `<p class="later"><a href="${base}#log-${step}">Jump to the end of the log</a> <small>(${h(formatBytes(log.size - log.end))} after)</small></p>`
      : "";
  return `<section class="step" id="log-${step}" data-step="${step}" data-end="${log.end}" data-next-line="${rendered.nextLine}"${rendered.open ? " data-open" : ""} data-sgr="${h(rendered.sgr)}">
<h3><a href="#log-${step}">${step}</a> <span class="state s-${h(state)}">${h(state)}</span> <span class="dur">${result ? h(formatDuration(result.durationMs)) : ""}</span> <a class="raw" href="${base}/${step}.log">raw log</a></h3>
${earlier}<div class="log">${rendered.html}</div>${later}
</section>`;
}

function time(iso: string): string {
  return `<time datetime="${h(iso)}">${h(iso.replace("T", " ").replace(/\.\d+Z$|Z$/, " UTC"))}</time>`;
}

function safeUrl(url: string | undefined): string {
  return url && /^https?:\/\//.test(url) ? url : "#";
}

/** The terminal palette is GitHub's dark one; the rest of the page stays light. */
const STYLE = `
body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;max-width:100rem;padding:.5rem 1.5rem 4rem;color:#1f2328}
h1{font-size:1.5rem;margin:.6rem 0 .2rem}h2{font-size:1.15rem;margin:1.6rem 0 .5rem}h3{font-size:1rem;margin:1.2rem 0 .4rem}
a{color:#0969da}code{font:13px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.meta{color:#59636e;margin:.2rem 0}.problem{color:#cf222e;font-weight:600}
.state{display:inline-block;padding:0 .55em;border:1px solid currentColor;border-radius:1em;font-size:.8rem;font-weight:600;vertical-align:.1em}
.s-success{color:#1a7f37}.s-failure,.s-error,.sev-error{color:#cf222e}.s-queued,.s-running,.sev-warning{color:#9a6700}.s-skipped,.s-unknown{color:#59636e}
.s-running::before{content:"● ";animation:blink 1.2s infinite}@keyframes blink{50%{opacity:.2}}
table{border-collapse:collapse}td,th{border-bottom:1px solid #d0d7de;padding:.3rem 1rem .3rem 0;text-align:left;vertical-align:top}
details{margin:.3rem 0}summary{cursor:pointer}
.failure pre{background:#fff8f8;border-left:3px solid #cf222e;padding:.6rem .8rem;margin:.3rem 0 .8rem;overflow:auto;font:13px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
h3 .dur{color:#59636e;font-weight:400;font-size:.85rem}h3 .raw{font-weight:400;font-size:.85rem;margin-left:.5rem}
.earlier,.later{margin:.2rem 0}
.log{background:#0d1117;color:#e6edf3;font:13px/1.5 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;padding:.5rem 0;border-radius:6px}
.chunk:only-child:empty::after{content:"(no output yet)";color:#6e7681;padding:0 1rem}
.l{white-space:pre-wrap;overflow-wrap:anywhere;padding:0 1rem 0 6.5em;text-indent:-5.5em;min-height:1.5em}
.l>a:first-child{display:inline-block;width:4.5em;margin-right:1em;text-align:right;text-indent:0;color:#6e7681;text-decoration:none;user-select:none}
.l:hover{background:#161b22}.l:target{background:#3a2d00}.l:target>a:first-child{color:#e3b341}
.a-b{font-weight:700}.a-d{opacity:.65}.a-i{font-style:italic}.a-u{text-decoration:underline}
${paletteRules().join("")}
`.trim();

function paletteRules(): string[] {
  const colours = [
    "#484f58",
    "#ff7b72",
    "#3fb950",
    "#d29922",
    "#58a6ff",
    "#bc8cff",
    "#39c5cf",
    "#b1bac4",
    "#6e7681",
    "#ffa198",
    "#56d364",
    "#e3b341",
    "#79c0ff",
    "#d2a8ff",
    "#56d4dd",
    "#ffffff",
  ];
  return colours.flatMap((c, i) => [`.a-f${i}{color:${c}}`, `.a-g${i}{background-color:${c}}`]);
}
