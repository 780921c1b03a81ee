import type { Diagnostic, StepResult, TestCaseResult } from "../pipeline/types.js";
import { codeBlock } from "./code-block.js";
import { markdownText } from "./markdown-text.js";
import { plural } from "../text/plural.js";
import { truncate } from "../text/truncate.js";
import { testLabel } from "./test-label.js";
import { diagnosticKind, diagnosticPlace } from "./diagnostic-place.js";

export const MAX_OUTPUT_CHARS = 65_535;

const ICON: Record<string, string> = { success: "✅", failure: "❌", error: "⚠️", skipped: "⏭️" };
const MAX_FAILURES = 20;
const TRACEBACK_LINES = 12;
const MAX_DIAGNOSTICS = 30;
const SLOWEST = 5;

/**
 * The readable Markdown report of a build: steps, counts and durations,
 * failing tests with the first lines of their tracebacks, tests that failed
 * only in parallel, what pyright found, the slowest tests and the steps'
 * notes. The same text is the check run's summary
 * and what `pyci run` prints. Whatever the repository or its tools wrote
 * (test ids, messages, paths, rules, step summaries) is escaped to read as
 * the text it is (markdownText); tracebacks go in a code block no line of
 * theirs can close (codeBlock). Problems beyond those listed are said to be
 * in `rest`: the check run's annotations, `pyci run`'s logs.
 */
export function summaryMarkdown(steps: StepResult[], buildUrl?: string, rest = "the annotations"): string {
  const parts: string[] = [stepTable(steps)];
  const advice = steps.filter((s) => s.advice);
  if (advice.length > 0)
    parts.push(
      `### What to do\n\n${advice.map((s) => `- **${markdownText(s.name)}**: ${markdownText(s.advice!)}`).join("\n")}`,
    );
  const tests = steps.flatMap((s) => s.tests ?? []);
  const failing = tests.filter(
    (t) => t.outcome === "fail" || t.outcome === "error" || t.outcome === "unexpected_success",
  );
  if (failing.length > 0) parts.push(failures(failing));
  const parallelOnly = tests.filter((t) => t.onlyInParallel);
  if (parallelOnly.length > 0) parts.push(onlyInParallel(parallelOnly));
  const diagnostics = steps.flatMap((s) => (s.diagnostics ?? []).map((d) => ({ d, enforced: s.enforced ?? true })));
  if (diagnostics.length > 0) parts.push(problems(diagnostics, rest));
  const timed = slowestTests(tests);
  if (timed.length > 0) parts.push(slowest(timed));
  const notes = steps.flatMap((s) => s.notes ?? []);
  if (notes.length > 0) parts.push(notes.map(markdownText).join("\n\n"));
  if (buildUrl) parts.push(`[Full output of every step](${buildUrl})`);
  return truncate(parts.join("\n\n"), MAX_OUTPUT_CHARS);
}

function stepTable(steps: StepResult[]): string {
  const rows = steps.map(
    (s) =>
      `| ${s.name} | ${ICON[s.state] ?? ""} ${s.state} | ${formatDuration(s.durationMs)} | ${markdownText(s.summary)}${s.reused ? ` (reused: same tree, tools and configuration as a build of ${s.reused.createdAt.slice(0, 16).replace("T", " ")} UTC)` : ""} |`,
  );
  return ["| Step | Result | Duration | Summary |", "| --- | --- | --- | --- |", ...rows].join("\n");
}

function failures(failing: TestCaseResult[]): string {
  const shown = failing.slice(0, MAX_FAILURES).map((t) => {
    const where = t.file && t.line ? ` at ${markdownText(`${t.file}:${t.line}`)}` : "";
    const verb = t.outcome === "fail" ? "failed" : t.outcome === "error" ? "error" : "unexpected success";
    const traceback = (t.traceback ?? t.message ?? "").trimEnd().split("\n");
    const head = traceback.slice(0, TRACEBACK_LINES);
    if (traceback.length > TRACEBACK_LINES) head.push(`… ${traceback.length - TRACEBACK_LINES} more lines`);
    return `**${markdownText(testLabel(t))}** (${verb})${where}\n\n${codeBlock(head.join("\n"))}`;
  });
  const more = failing.length > MAX_FAILURES ? `\n\n…and ${failing.length - MAX_FAILURES} more.` : "";
  return `### Failing tests (${failing.length})\n\n${shown.join("\n\n")}${more}`;
}

/** Tests that failed beside the others and passed alone, each once (its subtests share the flag). */
function onlyInParallel(tests: TestCaseResult[]): string {
  const labels = [...new Set(tests.map((t) => testLabel({ id: t.id, module: t.module })))];
  const shown = labels.slice(0, MAX_FAILURES).map((label) => `- ${markdownText(label)}`);
  if (labels.length > MAX_FAILURES) shown.push(`- …and ${labels.length - MAX_FAILURES} more`);
  return `### Failing only in parallel (${labels.length})\n\nThese failed when run beside other tests and passed when run again alone: they count as passed, and probably share state (files, ports, globals) with tests in another process.\n\n${shown.join("\n")}`;
}

/**
 * The diagnostics, syntax errors first; follow-ons of a syntax error last
 * and not in the count. One without a place is its message alone.
 */
function problems(items: { d: Diagnostic; enforced: boolean }[], rest: string): string {
  const sorted = [...items].sort((a, b) => rank(a) - rank(b));
  const lines = sorted.slice(0, MAX_DIAGNOSTICS).map(({ d, enforced }) => {
    const place = diagnosticPlace(d);
    const rule = d.rule && !d.syntax ? ` (${markdownText(d.rule)})` : "";
    return `- ${place ? `${markdownText(place)} ` : ""}${diagnosticKind(d, enforced)}: ${markdownText(d.message)}${rule}`;
  });
  const more =
    items.length > MAX_DIAGNOSTICS ? `\n- …and ${items.length - MAX_DIAGNOSTICS} more (see ${markdownText(rest)})` : "";
  const followOns = items.filter(({ d }) => d.followOn).length;
  const count = `${items.length - followOns}${followOns > 0 ? `; ${plural(followOns, "follow-on parse error")}, not counted` : ""}`;
  return `### Problems found (${count})\n\n${lines.join("\n")}${more}`;
}

function rank({ d, enforced }: { d: Diagnostic; enforced: boolean }): number {
  if (d.followOn) return 5;
  if (d.syntax) return 0;
  if (d.severity === "error") return enforced ? 1 : 2;
  return d.severity === "warning" ? 3 : 4;
}

/** The slowest tests, each once: the results of a test's subtests share its duration. */
function slowestTests(tests: TestCaseResult[]): TestCaseResult[] {
  const runs = new Map<string, TestCaseResult>();
  for (const t of tests) if (t.durationMs > 0) runs.set(testLabel({ id: t.id, module: t.module }), t);
  return [...runs.values()].sort((a, b) => b.durationMs - a.durationMs).slice(0, SLOWEST);
}

function slowest(tests: TestCaseResult[]): string {
  const rows = tests.map(
    (t) => `| ${markdownText(testLabel({ id: t.id, module: t.module }))} | ${formatDuration(t.durationMs)} |`,
  );
  return ["### Slowest tests", "", "| Test | Duration |", "| --- | --- |", ...rows].join("\n");
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes} min ${Math.round((ms % 60_000) / 1000)} s`;
}
