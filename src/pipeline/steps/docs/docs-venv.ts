import type { RunResult } from "../../../process/exec.js";
import type { Sphinx } from "./find-sphinx.js";
import type { DocsRequirements } from "./docs-requirements.js";
import { runInBuild } from "../../run-in-build.js";
import { sandboxEnv } from "../../../process/sandbox/sandbox-env.js";
import type { StepResult } from "../../types.js";
import type { LogSink } from "../../../model/log-sink.js";
import type { VenvPlace } from "../../env-cache/cached-environment.js";
import { cannotRun } from "../cannot-run.js";
import { stepFinisher } from "../step-finisher.js";
import { lastLines } from "../../../text/last-lines.js";
import { INSTALL_TAIL_LINES, installFailure } from "../install-failure.js";

export interface DocsVenvOptions {
  sphinx: Sphinx;
  requirements: DocsRequirements;
  /** The step's timeout, for the summary, and the time (Date.now()) by which everything must be done. */
  timeoutMs: number;
  deadline: number;
  log: LogSink;
  signal?: AbortSignal;
}

const DOCS_ADVICE =
  "Check that the version exists for this Python and that the build can reach the package index, or install the docs' requirements your way with docs.install in .github/pyci.yml (e.g. from wheels shipped in the repository: pip install --no-index --find-links wheels -r docs/requirements.txt)";

/** Names the file that makes a virtualenv-made-from-a-virtualenv see the first one's packages. */
const BASE_PTH = "pyci-sphinx-base.pth";
/** Writes argv[2] as argv[1] in the interpreter's own site-packages (run in the sandbox: the venv is the build's). */
const WRITE_PTH =
  "import os, sys, sysconfig; open(os.path.join(sysconfig.get_path('purelib'), sys.argv[1]), 'w').write(sys.argv[2])";

/**
 * A virtualenv for building the docs, made and filled at `place` (in its
 * sandbox: the requirements' install is the repository's code):
 *
 * 1. `<Sphinx's python> -m venv --system-site-packages`, so that the Sphinx
 *    found on the server (and whatever else that interpreter has) is there
 *    without being installed again.
 * 2. When that python is itself a virtualenv's, a .pth file that adds its
 *    site-packages: a venv made from a venv is based on the base
 *    interpreter and would not see them. Written by the venv's python in
 *    the sandbox: pyci never writes where a build's python says.
 * 3. The requirements, with the venv first on PATH: each docs.install
 *    command through `sh -c`, or `python -m pip install -r <file>`. A
 *    command or pip that fails is a `failure` (the repository's
 *    requirements cannot be installed); a venv that cannot be made, a
 *    timeout or a cancellation is an `error`. A success names the venv's
 *    python (StepResult.python).
 */
export async function makeDocsVenv(options: DocsVenvOptions, place: VenvPlace): Promise<StepResult> {
  const finish = stepFinisher("docs");
  const { venv } = place;
  const bin = `${venv}/bin`;
  const python = `${bin}/python`;
  const where = { sandbox: place.sandbox, ...(options.signal ? { signal: options.signal } : {}) };
  const plain = sandboxEnv(place.scratchDir);
  const activated = sandboxEnv(place.scratchDir, {
    PATH: `${bin}:${plain.PATH}`,
    VIRTUAL_ENV: venv,
    PIP_NO_INPUT: "1",
  });
  /** The command's last lines, read for why it failed. */
  let output = lastLines(options.log, INSTALL_TAIL_LINES);
  const step = (cmd: string, args: string[], echo: string, env: Record<string, string>, cwd = place.cwd) => {
    options.log.write(`$ ${echo}\n`);
    output = lastLines(options.log, INSTALL_TAIL_LINES);
    return runInBuild(where, {
      cmd,
      args,
      cwd,
      env,
      timeoutMs: Math.max(1, options.deadline - Date.now()),
      log: output,
    });
  };
  const failed = (what: string, exitCode: number | null) => {
    const { summary, advice } = installFailure(what, output.lines(), DOCS_ADVICE, options.log);
    return finish("failure", summary, exitCode, advice ? { advice } : {});
  };
  const notRun = (r: RunResult, what: string): StepResult | undefined => {
    const problem = cannotRun(r, what, options.timeoutMs);
    return problem === undefined ? undefined : finish("error", problem, null);
  };

  // 1. The venv, on top of the interpreter that has Sphinx.
  const base = options.sphinx.python;
  const created = await step(
    base,
    ["-m", "venv", "--system-site-packages", venv],
    `${base} -m venv --system-site-packages ${venv}`,
    plain,
    place.scratchDir,
  );
  const createProblem = notRun(created, `${base} -m venv`);
  if (createProblem) return createProblem;
  if (created.exitCode !== 0) {
    return finish(
      "error",
      `Could not create the docs virtualenv (${base} -m venv exited with code ${created.exitCode})`,
      created.exitCode,
    );
  }

  // 2. That interpreter's own virtualenv, if it has one.
  if (options.sphinx.inVirtualenv && options.sphinx.sitePackages.length > 0) {
    // `import` lines of a .pth run at startup; addsitedir also reads the .pth files there (editable installs).
    const lines = options.sphinx.sitePackages.map((dir) => `import site; site.addsitedir(${JSON.stringify(dir)})\n`);
    const written = await runInBuild(where, {
      cmd: python,
      args: ["-I", "-c", WRITE_PTH, BASE_PTH, lines.join("")],
      cwd: place.scratchDir,
      env: plain,
      timeoutMs: Math.max(1, options.deadline - Date.now()),
      log: options.log,
    });
    const writeProblem = notRun(written, python);
    if (writeProblem) return writeProblem;
    if (written.exitCode !== 0)
      return finish(
        "error",
        `The docs virtualenv's python exited with code ${written.exitCode}; see the log`,
        written.exitCode,
      );
    options.log.write(`Added ${options.sphinx.sitePackages.join(", ")} to the docs virtualenv (${BASE_PTH})\n`);
  }

  // 3. The requirements.
  if ("requirementsFile" in options.requirements) {
    const file = options.requirements.requirementsFile;
    const r = await step(python, ["-m", "pip", "install", "-r", file], `python -m pip install -r ${file}`, activated);
    const problem = notRun(r, "pip");
    if (problem) return problem;
    if (r.exitCode !== 0) return failed(`pip install -r ${file} failed with exit code ${r.exitCode}`, r.exitCode);
    return finish("success", `Installed ${file} into the docs virtualenv`, 0, { python });
  }
  for (const command of options.requirements.commands) {
    const r = await step("sh", ["-c", command], command, activated);
    const problem = notRun(r, `"${command}"`);
    if (problem) return problem;
    if (r.exitCode !== 0)
      return failed(`Docs install command failed with exit code ${r.exitCode}: ${command}`, r.exitCode);
  }
  return finish("success", "Ran the docs install commands in the docs virtualenv", 0, { python });
}
