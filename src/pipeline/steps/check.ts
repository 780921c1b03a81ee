import { readFileSync, realpathSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, isAbsolute, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createHash } from "node:crypto";
import type { RunOptions } from "../../process/exec.js";
import { mergeSyntaxErrors } from "../parsers/merge-syntax-errors.js";
import { parsePyrightOutput } from "../parsers/pyright-output.js";
import { pyprojectConfiguresPyright } from "../parsers/pyproject-configures-pyright.js";
import { parsePythonSyntaxErrors } from "../parsers/python-syntax-errors.js";
import { pythonEnvironment } from "../python-environment.js";
import { reuseResult } from "../reuse-result.js";
import { runInBuild } from "../run-in-build.js";
import { sandboxEnv } from "../../process/sandbox/sandbox-env.js";
import type { Diagnostic, Step, StepContext, StepResult } from "../types.js";
import type { LogSink } from "../../model/log-sink.js";
import { cannotRun } from "./cannot-run.js";
import { oneLine } from "./step-summary.js";
import { isFile } from "../../checkout/is-file.js";
import { packageFile } from "../../package-files.js";
import { plural } from "../../text/plural.js";

const PYRIGHT = join(dirname(createRequire(import.meta.url).resolve("pyright/package.json")), "index.js");
const PYRIGHT_VERSION = (createRequire(import.meta.url)("pyright/package.json") as { version: string }).version;
const SYNTAX_HELPER = packageFile("python", "pyci_syntax.py");

/** pyright's exit codes: 0 no errors, 1 errors reported; 2 fatal, 3 bad configuration, 4 bad arguments. */
const PYRIGHT_RESULT_CODES = [0, 1];

/**
 * Type-checks the checkout with pyright, which stands in for compilation,
 * and compiles every file with the tests' interpreter as a cross-check.
 *
 * 1. Decide whether type errors fail the step (`enforced`).
 * 2. Ask the interpreter for its absolute path.
 * 3. Run pyright and python/pyci_syntax.py with it, side by side; either
 *    could not run: `error`.
 * 4. Merge Python's syntax errors into pyright's diagnostics: one counted a
 *    file, where Python's compiler stops, pyright's other parse errors in
 *    it follow-ons; log a listing.
 * 5. Syntax errors always fail; type errors fail when enforced.
 */
export const checkStep: Step = {
  name: "check",
  status: "ci/check",
  run: (ctx) =>
    reuseResult(ctx, {
      step: "check",
      inputs: () => checkInputs(ctx),
      same: `same tree, pyright ${PYRIGHT_VERSION}, configuration and Python packages`,
      run: runCheck,
    }),
};

/**
 * What besides the tree changes the check's result, for the result cache:
 * pyright's version, pyci's own check code, the repository's configuration,
 * and the interpreter pyright resolves imports with (its version and every
 * installed distribution: what the install step put there).
 */
async function checkInputs(ctx: StepContext): Promise<unknown> {
  const python = await pythonEnvironment(
    ctx.python,
    { cwd: ctx.dir, env: sandboxEnv(ctx.scratchDir), timeoutMs: ctx.timeoutMs },
    ctx,
  );
  if (!python) return undefined;
  checkCode ??= createHash("sha256")
    .update(readFileSync(fileURLToPath(import.meta.url)))
    .update(readFileSync(SYNTAX_HELPER))
    .digest("hex");
  return { pyright: PYRIGHT_VERSION, checkCode, repoConfig: ctx.repoConfig, python };
}

let checkCode: string | undefined;

async function runCheck(ctx: StepContext): Promise<StepResult> {
  const env = sandboxEnv(ctx.scratchDir);
  const enforced = ctx.repoConfig.check.enforceTypeErrors ?? (await repoConfiguresPyright(ctx.dir));
  const common = { cwd: ctx.dir, env, timeoutMs: ctx.timeoutMs, log: ctx.log, captureStdout: true };

  const python = await interpreterPath(ctx, common);
  if (!python.ok)
    return {
      name: "check",
      state: "error",
      summary: oneLine(python.problem),
      exitCode: null,
      durationMs: python.durationMs,
      enforced,
    };
  const pyrightArgs = [PYRIGHT, "--outputjson", "--pythonpath", python.path];
  const syntaxArgs = ["-I", SYNTAX_HELPER, ctx.dir];
  ctx.log.write(`$ pyright ${pyrightArgs.slice(1).join(" ")}\n$ ${[python.path, ...syntaxArgs].join(" ")}\n`);
  const [pyright, compiled] = await Promise.all([
    runInBuild(ctx, { ...common, cmd: process.execPath, args: pyrightArgs }),
    runInBuild(ctx, { ...common, cmd: python.path, args: syntaxArgs }),
  ]);

  const durationMs = python.durationMs + Math.max(pyright.durationMs, compiled.durationMs);
  const base = { name: "check", exitCode: pyright.exitCode, durationMs, enforced };
  const error = (summary: string): StepResult => ({ ...base, state: "error", summary: oneLine(summary) });
  const problem =
    cannotRun(pyright, "pyright", ctx.timeoutMs) ?? cannotRun(compiled, "the syntax check", ctx.timeoutMs);
  if (problem) return error(problem);
  if (!PYRIGHT_RESULT_CODES.includes(pyright.exitCode ?? -1)) {
    return error(
      `pyright exited with code ${pyright.exitCode}${pyright.exitCode === 3 ? " (configuration error)" : ""}; see the log`,
    );
  }
  if (compiled.exitCode !== 0) {
    return error(`The syntax check with ${python.path} exited with code ${compiled.exitCode}; see the log`);
  }

  let diagnostics: Diagnostic[];
  let filesAnalyzed: number;
  let version: string;
  try {
    const parsed = parsePyrightOutput(pyright.stdout, realpathSync(ctx.dir));
    ({ filesAnalyzed, version } = parsed);
    diagnostics = mergeSyntaxErrors(parsed.diagnostics, parsePythonSyntaxErrors(compiled.stdout));
  } catch (err) {
    return error((err as Error).message);
  }

  const counts = countDiagnostics(diagnostics);
  writeListing(ctx.log, diagnostics, counts, `${plural(filesAnalyzed, "file")} (pyright ${version})`, enforced);
  const failed = counts.syntax > 0 || (enforced && counts.typeErrors > 0);
  return {
    ...base,
    state: failed ? "failure" : "success",
    summary: oneLine(summarize(counts, filesAnalyzed, enforced)),
    diagnostics,
  };
}

type Interpreter = { ok: true; path: string; durationMs: number } | { ok: false; problem: string; durationMs: number };

/**
 * The interpreter as an absolute path, asked of the interpreter itself in
 * the checkout, so that a pyenv shim resolves (by the repository's
 * .python-version) to the interpreter that the tests get. pyright then
 * resolves imports against that interpreter's site-packages, and neither
 * pyright nor the syntax check pays for the shim again. A venv's python keeps
 * its path in the venv: that location is what makes it the venv.
 */
async function interpreterPath(
  ctx: StepContext,
  common: Omit<RunOptions, "cmd" | "args" | "sandbox" | "signal">,
): Promise<Interpreter> {
  const r = await runInBuild(ctx, {
    ...common,
    cmd: ctx.python,
    args: ["-I", "-c", "import sys; print(sys.executable)"],
  });
  const problem = cannotRun(r, ctx.python, ctx.timeoutMs);
  if (problem) return { ok: false, problem, durationMs: r.durationMs };
  if (r.exitCode !== 0)
    return {
      ok: false,
      problem: `${ctx.python} exited with code ${r.exitCode} when asked for its path; see the log`,
      durationMs: r.durationMs,
    };
  const reported = r.stdout.trim();
  if (isAbsolute(reported) && (await isFile(reported))) return { ok: true, path: reported, durationMs: r.durationMs };
  ctx.log.write(
    `${ctx.python} did not report its path (sys.executable is ${JSON.stringify(reported)}); using ${ctx.python} as it is.\n`,
  );
  return { ok: true, path: ctx.python, durationMs: r.durationMs };
}

interface Counts {
  syntax: number;
  /** pyright's parse errors after a file's counted syntax error: listed, not counted. */
  followOns: number;
  typeErrors: number;
  warnings: number;
  information: number;
}

function countDiagnostics(diagnostics: Diagnostic[]): Counts {
  const counts: Counts = { syntax: 0, followOns: 0, typeErrors: 0, warnings: 0, information: 0 };
  for (const d of diagnostics) {
    if (d.followOn) counts.followOns += 1;
    else if (d.syntax) counts.syntax += 1;
    else if (d.severity === "error") counts.typeErrors += 1;
    else if (d.severity === "warning") counts.warnings += 1;
    else counts.information += 1;
  }
  return counts;
}

/**
 * "No problems in 52 files", "No errors in 52 files; 3 warnings",
 * "3 syntax errors; 139 type errors not enforced", "2 type errors; 1 warning".
 */
function summarize(counts: Counts, filesAnalyzed: number, enforced: boolean): string {
  const files = plural(filesAnalyzed, "file");
  if (counts.syntax === 0 && counts.typeErrors === 0) {
    return counts.warnings === 0
      ? `No problems in ${files}`
      : `No errors in ${files}; ${plural(counts.warnings, "warning")}`;
  }
  const parts: string[] = [];
  if (counts.syntax > 0) parts.push(plural(counts.syntax, "syntax error"));
  if (counts.typeErrors > 0) parts.push(`${plural(counts.typeErrors, "type error")}${enforced ? "" : " not enforced"}`);
  if (counts.warnings > 0) parts.push(plural(counts.warnings, "warning"));
  return parts.join("; ");
}

/** The diagnostics as pyright lists them on a terminal, then one line of counts. */
function writeListing(log: LogSink, diagnostics: Diagnostic[], counts: Counts, scope: string, enforced: boolean): void {
  const lines = diagnostics.map((d) => {
    const [first = "", ...rest] = d.message.split("\n");
    const text = [first, ...rest.map((line) => `    ${line}`)].join("\n");
    const severity = d.followOn ? "follow-on parse error (not counted)" : d.severity;
    return `${d.file}:${d.line}:${d.column} - ${severity}: ${text}${d.rule ? ` (${d.rule})` : ""}\n`;
  });
  const total = [
    `${plural(counts.syntax, "syntax error")}${counts.followOns > 0 ? ` (and ${plural(counts.followOns, "follow-on parse error")}, not counted)` : ""}`,
    `${plural(counts.typeErrors, "type error")} (${enforced ? "enforced" : "not enforced"})`,
    plural(counts.warnings, "warning"),
    `${counts.information} information`,
  ].join(", ");
  log.write(`${lines.join("")}${total} in ${scope}\n`);
}

/**
 * Type errors are enforced when the repository configures pyright: its
 * authors then mean its type errors to count.
 */
async function repoConfiguresPyright(dir: string): Promise<boolean> {
  if (await isFile(join(dir, "pyrightconfig.json"))) return true;
  const pyproject = join(dir, "pyproject.toml");
  return (await isFile(pyproject)) && pyprojectConfiguresPyright(readFileSync(pyproject, "utf8"));
}
