/**
 * The pipeline's data model. A pipeline is a list of steps; each step is a
 * value with a name and a `run` function that turns a workspace into a
 * StepResult. Nothing here knows about GitHub.
 */
import type { LogSink } from "../model/log-sink.js";
import type { Sandbox, SandboxMount } from "../process/sandbox/sandbox.js";

/** success: the tool said yes; failure: the tool said no; error: pyci could not run it. */
export type StepState = "success" | "failure" | "error" | "skipped";

export type Severity = "error" | "warning" | "information";

export interface Diagnostic {
  /**
   * Path relative to the repository root, with forward slashes. Absent, with
   * line and column, when the tool names no place (a Sphinx warning about
   * the configuration): the message goes in the summary, not on a file.
   */
  file?: string;
  /** 1-based line and column. */
  line?: number;
  column?: number;
  endLine?: number;
  endColumn?: number;
  severity: Severity;
  /** pyright rule (e.g. "reportAttributeAccessIssue"), "syntax" for parse errors. */
  rule: string;
  message: string;
  /** True for syntax (parse) errors, which always fail the check step. */
  syntax: boolean;
  /**
   * A parse error pyright reports in a file after the one syntax error that
   * counts (where Python's compiler stops): usually a consequence of it;
   * shown, never counted.
   */
  followOn?: boolean;
}

export type TestOutcome = "pass" | "fail" | "error" | "skip" | "expected_failure" | "unexpected_success";

/**
 * One outcome unittest reported: a test's success, failure, error, skip,
 * expected failure or unexpected success, or one failing, erroring or
 * skipped subtest (a test with two failing subtests is two failures, as
 * unittest counts them).
 */
export interface TestCaseResult {
  /** unittest id, e.g. "tests.test_math.MathTest.test_add". */
  id: string;
  /** The subtest's parameters as unittest prints them: "(i=1)", "[label] (i=1)". */
  subtest?: string;
  /**
   * The module the test ran from, when its id does not start with it: a
   * base class imported into a second test module runs there again under
   * the same id.
   */
  module?: string;
  outcome: TestOutcome;
  /** The whole test's duration (shared by the results of its subtests). */
  durationMs: number;
  /** Skip reason or the exception's one-line message. */
  message?: string;
  traceback?: string;
  /** Where in the repository it failed (relative path, 1-based line). */
  file?: string;
  line?: number;
  /**
   * A test that failed in a parallel run and passed when run again alone: it
   * counts as this (passing) result; this is how it failed beside the others.
   */
  onlyInParallel?: ParallelFailure;
}

/** How a test failed in a parallel run (test.parallel) that it passed alone. */
export interface ParallelFailure {
  outcome: TestOutcome;
  message?: string;
  file?: string;
  line?: number;
}

/**
 * unittest's own figures, as its summary line prints them ("Ran 1 test …
 * FAILED (failures=2)"): tests run, and how many failures, errors, skips,
 * expected failures and unexpected successes it reported (subtests each
 * count: one test can have several failures).
 */
export interface TestCounts {
  run: number;
  failures: number;
  errors: number;
  skipped: number;
  expectedFailures: number;
  unexpectedSuccesses: number;
}

export interface StepResult {
  name: string;
  state: StepState;
  /** One line, with numbers: "901 tests passed", "3 syntax errors". */
  summary: string;
  exitCode: number | null;
  durationMs: number;
  diagnostics?: Diagnostic[];
  tests?: TestCaseResult[];
  testCounts?: TestCounts;
  /** Whether type errors were enforced (check step only). */
  enforced?: boolean;
  /** Interpreter that later steps should use (set by the install step: the venv's python). */
  python?: string;
  /** A cached environment later steps see, read-only, at the path it was made at (env-cache). */
  mount?: SandboxMount;
  /** Files the step produced that outlive the checkout (absolute paths in the scratch dir). */
  artifacts?: Artifact[];
  /** Numbers a step reports beyond tests and diagnostics, e.g. { pages: 14 } for docs. */
  counts?: Record<string, number>;
  /** The earlier build whose result this is (the result cache): the step did not run again. */
  reused?: ReusedFrom;
  /** What the author can do about a failure the step understood (a pip error): a sentence for the report. */
  advice?: string;
  /** What the report says beside the results, one sentence each: what running the tests in parallel would save. */
  notes?: string[];
}

export interface ReusedFrom {
  buildId: string;
  createdAt: string;
}

export interface Artifact {
  /** File name to publish it under, e.g. "docs-html.tar.gz". */
  name: string;
  path: string;
  contentType: string;
}

/** Settings from `.github/pyci.yml` (or defaults). */
export interface RepoConfig {
  check: { enforceTypeErrors: boolean | undefined };
  test: {
    startDir: string;
    pattern: string;
    topLevelDir?: string;
    /** Processes to split the tests over (`test.parallel`); absent: one, and the report says what more would save. */
    parallel?: number | "auto";
  };
  install: string[];
  /** The labels a worker must have to build this (`runs_on`), sorted; absent: any worker, or the server itself. */
  runsOn?: string[];
  python?: string;
  /** Extra variables for the code under test (`env:`), literal values; never PATH, HOME or TMPDIR. */
  env?: Record<string, string>;
  docs: {
    /** Directory holding conf.py, relative to the root; found automatically when absent. */
    dir?: string;
    /** Commands that install the docs' requirements into the docs virtualenv. */
    install: string[];
    /** Build with -W --keep-going: warnings fail the build. */
    warningsAsErrors: boolean;
    /** Branches whose merges publish docs; default: the repository's default branch. */
    branches?: string[];
  };
}

export interface StepContext {
  /** Absolute path of the checkout. */
  dir: string;
  repoConfig: RepoConfig;
  /** Python interpreter to run tests with (the venv's one after `install`). */
  python: string;
  /** Absolute directory for throwaway HOME/TMPDIR of the code under test. */
  scratchDir: string;
  timeoutMs: number;
  log: LogSink;
  signal?: AbortSignal;
  /**
   * How to confine the code under test of this build: steps start processes
   * through runInBuild(ctx, …), which always applies it. Set by the pipeline
   * from PipelineOptions.sandbox ("off" when none is asked for).
   */
  sandbox: Sandbox;
  /** Where steps may reuse an earlier result of the same tree (result-cache.ts); absent: no cache. */
  cache?: StepCache;
  /** Test durations (ms by unittest id) of the repository's last build with tests: they balance a parallel run. */
  testDurations?: ReadonlyMap<string, number>;
  /** Where the install and docs steps reuse environments (env-cache/); absent: every build makes its own. */
  envCache?: EnvCache;
}

/** The environment cache of a build (CI_ENV_CACHE): CI_DATA_DIR/envs. */
export interface EnvCache {
  /** CI_DATA_DIR: environments live in <dir>/envs. */
  dir: string;
  /** The repository (its clone URL): environments are never shared between repositories. */
  scope: string;
  /** Whether this build may add environments: never a fork's pull request, which only reuses them. */
  fill: boolean;
}

/** What a step needs to key, find and store its results in the result cache. */
export interface StepCache {
  /** CI_DATA_DIR: results live in <dir>/results. */
  dir: string;
  /** `git rev-parse HEAD^{tree}` of the checkout, taken before any of its code ran. */
  tree: string;
  /** The repository (its clone URL): results are never shared between repositories. */
  scope: string;
  /** This build, named by the results it stores. */
  buildId: string;
}

export interface Step {
  name: string;
  /** The commit status that reports it on GitHub ("ci/check"); absent: only the check run and the build page show it. */
  status?: string;
  /** Whether this step applies to the checkout; steps that do not apply are left out. */
  applies?(ctx: StepContext): Promise<boolean>;
  run(ctx: StepContext): Promise<StepResult>;
}
