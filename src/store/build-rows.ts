import type { BuildRequest } from "../model/build-request.js";
import type {
  Artifact,
  Diagnostic,
  ParallelFailure,
  ReusedFrom,
  Severity,
  StepResult,
  StepState,
  TestCaseResult,
  TestCounts,
  TestOutcome,
} from "../pipeline/types.js";
import type { BuildRecord, BuildState } from "./build-record.js";

/** A build as its tables hold it (column names as in the schema; NULL for absent). */
export interface BuildRows {
  build: BuildRow;
  steps: StepRow[];
  tests: TestRow[];
  diagnostics: DiagnosticRow[];
}

export interface BuildRow {
  id: string;
  owner: string;
  repo: string;
  sha: string;
  event: string;
  pipeline: string;
  delivery_id: string | null;
  pr_number: number | null;
  pr_title: string | null;
  pr_url: string | null;
  branch: string | null;
  state: BuildState;
  error: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  check_run_id: number | null;
  request_json: string | null;
  attempts: number;
  stream_applied: string | null;
}

export interface StepRow {
  build_id: string;
  position: number;
  name: string;
  state: StepState;
  summary: string;
  exit_code: number | null;
  duration_ms: number;
  enforced: 0 | 1 | null;
  python: string | null;
  test_count: number | null;
  diagnostic_count: number | null;
  test_counts_json: string | null;
  counts_json: string | null;
  artifacts_json: string | null;
  reused_json: string | null;
  advice: string | null;
  notes_json: string | null;
}

export interface TestRow {
  build_id: string;
  step: number;
  position: number;
  test_id: string;
  subtest: string | null;
  module: string | null;
  outcome: TestOutcome;
  duration_ms: number;
  message: string | null;
  traceback: string | null;
  file: string | null;
  line: number | null;
  only_in_parallel_json: string | null;
}

export interface DiagnosticRow {
  build_id: string;
  step: number;
  position: number;
  /** '' (and line and column 0) for a diagnostic without a place. */
  file: string;
  line: number;
  column: number;
  end_line: number | null;
  end_column: number | null;
  severity: Severity;
  rule: string;
  message: string;
  syntax: 0 | 1;
  follow_on: 0 | 1;
}

/** A record split into rows; what has no column of its own is stored as JSON. */
export function toRows(record: BuildRecord): BuildRows {
  const id = record.id;
  const rows: BuildRows = {
    build: {
      id,
      owner: record.owner,
      repo: record.repo,
      sha: record.sha,
      event: record.event,
      pipeline: record.pipeline,
      delivery_id: record.deliveryId ?? null,
      pr_number: record.prNumber ?? null,
      pr_title: record.prTitle ?? null,
      pr_url: record.prUrl ?? null,
      branch: record.branch ?? null,
      state: record.state,
      error: record.error ?? null,
      created_at: record.createdAt,
      started_at: record.startedAt ?? null,
      finished_at: record.finishedAt ?? null,
      check_run_id: record.checkRunId ?? null,
      request_json: json(record.request),
      attempts: record.attempts ?? 0,
      stream_applied: record.streamApplied ?? null,
    },
    steps: [],
    tests: [],
    diagnostics: [],
  };
  record.steps.forEach((step, position) => {
    rows.steps.push({
      build_id: id,
      position,
      name: step.name,
      state: step.state,
      summary: step.summary,
      exit_code: step.exitCode,
      duration_ms: step.durationMs,
      enforced: step.enforced === undefined ? null : step.enforced ? 1 : 0,
      python: step.python ?? null,
      test_count: step.tests?.length ?? null,
      diagnostic_count: step.diagnostics?.length ?? null,
      test_counts_json: json(step.testCounts),
      counts_json: json(step.counts),
      artifacts_json: json(step.artifacts),
      reused_json: json(step.reused),
      advice: step.advice ?? null,
      notes_json: json(step.notes),
    });
    step.tests?.forEach((t, i) => {
      rows.tests.push({
        build_id: id,
        step: position,
        position: i,
        test_id: t.id,
        subtest: t.subtest ?? null,
        module: t.module ?? null,
        outcome: t.outcome,
        duration_ms: t.durationMs,
        message: t.message ?? null,
        traceback: t.traceback ?? null,
        file: t.file ?? null,
        line: t.line ?? null,
        only_in_parallel_json: json(t.onlyInParallel),
      });
    });
    step.diagnostics?.forEach((d, i) => {
      rows.diagnostics.push({
        build_id: id,
        step: position,
        position: i,
        file: d.file ?? "",
        line: d.line ?? 0,
        column: d.column ?? 0,
        end_line: d.endLine ?? null,
        end_column: d.endColumn ?? null,
        severity: d.severity,
        rule: d.rule,
        message: d.message,
        syntax: d.syntax ? 1 : 0,
        follow_on: d.followOn ? 1 : 0,
      });
    });
  });
  return rows;
}

/**
 * The record back from its rows. Without `tests`/`diagnostics` rows
 * (`detail` false) its steps are summaries: no `tests` or `diagnostics` lists.
 */
export function fromRows(rows: BuildRows, detail: boolean): BuildRecord {
  const b = rows.build;
  return {
    id: b.id,
    owner: b.owner,
    repo: b.repo,
    sha: b.sha,
    event: b.event,
    pipeline: b.pipeline,
    ...present("deliveryId", b.delivery_id),
    ...present("prNumber", b.pr_number),
    ...present("prTitle", b.pr_title),
    ...present("prUrl", b.pr_url),
    state: b.state,
    ...present("error", b.error),
    createdAt: b.created_at,
    ...present("startedAt", b.started_at),
    ...present("finishedAt", b.finished_at),
    steps: rows.steps.map((s) => stepFrom(s, rows, detail)),
    ...present("checkRunId", b.check_run_id),
    ...present("branch", b.branch),
    ...present("request", parse<BuildRequest>(b.request_json)),
    ...present("attempts", b.attempts || null),
    ...present("streamApplied", b.stream_applied),
  };
}

function stepFrom(s: StepRow, rows: BuildRows, detail: boolean): StepResult {
  const tests = detail && s.test_count !== null ? rows.tests.filter((t) => t.step === s.position).map(testFrom) : null;
  const diagnostics =
    detail && s.diagnostic_count !== null
      ? rows.diagnostics.filter((d) => d.step === s.position).map(diagnosticFrom)
      : null;
  return {
    name: s.name,
    state: s.state,
    summary: s.summary,
    exitCode: s.exit_code,
    durationMs: s.duration_ms,
    ...present("diagnostics", diagnostics),
    ...present("tests", tests),
    ...present("testCounts", parse<TestCounts>(s.test_counts_json)),
    ...present("enforced", s.enforced === null ? null : s.enforced === 1),
    ...present("python", s.python),
    ...present("artifacts", parse<Artifact[]>(s.artifacts_json)),
    ...present("counts", parse<Record<string, number>>(s.counts_json)),
    ...present("reused", parse<ReusedFrom>(s.reused_json)),
    ...present("advice", s.advice),
    ...present("notes", parse<string[]>(s.notes_json)),
  };
}

function testFrom(t: TestRow): TestCaseResult {
  return {
    id: t.test_id,
    ...present("subtest", t.subtest),
    ...present("module", t.module),
    outcome: t.outcome,
    durationMs: t.duration_ms,
    ...present("message", t.message),
    ...present("traceback", t.traceback),
    ...present("file", t.file),
    ...present("line", t.line),
    ...present("onlyInParallel", parse<ParallelFailure>(t.only_in_parallel_json)),
  };
}

function diagnosticFrom(d: DiagnosticRow): Diagnostic {
  return {
    ...(d.file === "" ? {} : { file: d.file, line: d.line, column: d.column }),
    ...present("endLine", d.end_line),
    ...present("endColumn", d.end_column),
    severity: d.severity,
    rule: d.rule,
    message: d.message,
    syntax: d.syntax === 1,
    ...(d.follow_on === 1 ? { followOn: true } : {}),
  };
}

/** `{ key: value }`, or nothing at all for NULL: absent fields stay absent (not `undefined`). */
function present<K extends string, V>(key: K, value: V | null): { [P in K]?: V } {
  return (value === null ? {} : { [key]: value }) as { [P in K]?: V };
}

function json(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value);
}

function parse<T>(text: string | null): T | null {
  return text === null ? null : (JSON.parse(text) as T);
}
