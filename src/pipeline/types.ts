/**
 * The pipeline's data model. A pipeline is a list of steps; each step is a
 * value with a name and a `run` function that turns a workspace into a
 * StepResult. Nothing here knows about GitHub.
 */

/** success: the tool said yes; failure: the tool said no; error: pyci could not run it. */
export type StepState = "success" | "failure" | "error" | "skipped";

export type Severity = "error" | "warning" | "information";

export interface Diagnostic {
  /** Path relative to the repository root, with forward slashes. */
  file: string;
  /** 1-based line and column. */
  line: number;
  column: number;
  endLine?: number;
  endColumn?: number;
  severity: Severity;
  /** pyright rule (e.g. "reportAttributeAccessIssue"), "syntax" for parse errors. */
  rule: string;
  message: string;
  /** True for syntax (parse) errors, which always fail the check step. */
  syntax: boolean;
}

export type TestOutcome =
  | "pass"
  | "fail"
  | "error"
  | "skip"
  | "expected_failure"
  | "unexpected_success";

export interface TestCaseResult {
  /** unittest id, e.g. "tests.test_math.MathTest.test_add". */
  id: string;
  outcome: TestOutcome;
  durationMs: number;
  /** Skip reason or the exception's one-line message. */
  message?: string;
  traceback?: string;
  /** Where in the repository it failed (relative path, 1-based line). */
  file?: string;
  line?: number;
}

export interface TestCounts {
  total: number;
  passed: number;
  failed: number;
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
  /** Files the step produced that outlive the checkout (absolute paths in the scratch dir). */
  artifacts?: Artifact[];
  /** Numbers a step reports beyond tests and diagnostics, e.g. { pages: 14 } for docs. */
  counts?: Record<string, number>;
  /** The earlier build whose result this is (the result cache): the step did not run again. */
  reused?: ReusedFrom;
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

/** Receives a step's console output, already masked, as it is produced. */
export interface LogSink {
  write(text: string): void;
}

/** Settings from `.github/pyci.yml` (or defaults). */
export interface RepoConfig {
  check: { enforceTypeErrors: boolean | undefined };
  test: { startDir: string; pattern: string; topLevelDir?: string };
  install: string[];
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

/**
 * How the code under test is confined (README: "The code under test"):
 * - bwrap: bubblewrap shows it only the system's directories (read-only),
 *   the interpreter, pyci's helpers, and its own checkout and scratch dir
 *   (read-write), in pid/ipc/uts namespaces of its own; as root it also
 *   drops to `user`;
 * - user: it runs as the unprivileged `user` (pyci runs as root), seeing the
 *   file system as that user does;
 * - off: as pyci's own user. Every mode passes an allow-listed environment.
 */
export interface Sandbox {
  kind: "bwrap" | "user" | "off";
  /** The account the code under test runs as; absent: pyci's own. */
  user?: { name: string; uid: number; gid: number };
  /** Paths (key files, the data dir) that bwrap hides when a visible directory holds them. */
  hidden: string[];
  /** Directories it reads beyond the system's (bwrap binds them read-only). */
  readable: string[];
  /** Directories it writes: the checkout and the scratch dir (bwrap binds them; they are chowned to `user`). */
  writable: string[];
  /** What bounds the build's use of the machine (CI_BUILD_*); absent: nothing (`pyci run`, GitHub Actions). */
  limits?: SandboxLimits;
}

/** The build's limits as every command of it gets them (see prepare-sandbox.ts). */
export interface SandboxLimits {
  /** The size of bwrap's private /tmp. */
  tmpBytes: number;
  /**
   * The command line that puts `command` under the build's limits: it joins the build's cgroup, or
   * sets rlimits, then execs it. It goes outermost: it runs as root, before the sandbox drops root.
   */
  wrap(command: { cmd: string; args: string[] }): { cmd: string; args: string[] };
}

export interface Step {
  name: string;
  /** Whether this step applies to the checkout; steps that do not apply are left out. */
  applies?(ctx: StepContext): Promise<boolean>;
  run(ctx: StepContext): Promise<StepResult>;
}
