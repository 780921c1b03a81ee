import type { RunResult } from "../../process/exec.js";
import { runInBuild } from "../run-in-build.js";
import { sandboxEnv } from "../../process/sandbox/sandbox-env.js";
import type { StepContext, StepResult } from "../types.js";
import type { VenvPlace } from "../env-cache/cached-environment.js";
import { cannotRun } from "./cannot-run.js";
import { stepFinisher } from "./step-finisher.js";
import { plural } from "../../text/plural.js";
import { lastLines } from "../../text/last-lines.js";
import { INSTALL_TAIL_LINES, installFailure } from "./install-failure.js";

export const REQUIREMENTS = "requirements.txt";
const ADVICE =
  "Check that the version exists for this Python and that the build can reach the package index, or install wheels shipped in the repository with install: in .github/pyci.yml (pip install --no-index --find-links wheels -r requirements.txt)";

/**
 * The install step's work at `place`: `<ctx.python> -m venv`, then the
 * commands of `install:` (each with `sh -c`, the venv first on PATH) or
 * `pip install -r requirements.txt`. A command that fails is a `failure`;
 * a venv that cannot be made, a timeout or a cancellation an `error`. A
 * success names the venv's python (StepResult.python).
 */
export async function makeVenv(ctx: StepContext, place: VenvPlace): Promise<StepResult> {
  const finish = stepFinisher("install");
  const deadline = Date.now() + ctx.timeoutMs;
  const { venv } = place;
  const venvBin = `${venv}/bin`;
  const venvPython = `${venvBin}/python`;
  const where = { sandbox: place.sandbox, ...(ctx.signal ? { signal: ctx.signal } : {}) };
  /** Timeouts, cancellation and spawn errors are pyci's problem: state "error". */
  const notRun = (r: RunResult, what: string): StepResult | undefined => {
    const problem = cannotRun(r, what, ctx.timeoutMs);
    return problem === undefined ? undefined : finish("error", problem, null);
  };
  /** The command's last lines, read for why it failed. */
  let output = lastLines(ctx.log, INSTALL_TAIL_LINES);
  const step = (cmd: string, args: string[], echo: string, env: Record<string, string>) => {
    ctx.log.write(`$ ${echo}\n`);
    output = lastLines(ctx.log, INSTALL_TAIL_LINES);
    return runInBuild(where, {
      cmd,
      args,
      cwd: place.cwd,
      env,
      timeoutMs: Math.max(1, deadline - Date.now()),
      log: output,
    });
  };
  const failed = (what: string, exitCode: number | null) => {
    const { summary, advice } = installFailure(what, output.lines(), ADVICE, ctx.log);
    return finish("failure", summary, exitCode, advice ? { advice } : {});
  };

  // 1. The virtualenv.
  const created = await step(
    ctx.python,
    ["-m", "venv", venv],
    `${ctx.python} -m venv ${venv}`,
    sandboxEnv(place.scratchDir, {}, ctx.repoConfig.env),
  );
  const venvProblem = notRun(created, `${ctx.python} -m venv`);
  if (venvProblem) return venvProblem;
  if (created.exitCode !== 0) {
    return finish(
      "error",
      `Could not create a virtualenv (${ctx.python} -m venv exited with code ${created.exitCode})`,
      created.exitCode,
    );
  }

  // 2. The repository's install commands (or pip), with the venv activated.
  const plain = sandboxEnv(place.scratchDir);
  const env = sandboxEnv(
    place.scratchDir,
    { PATH: `${venvBin}:${plain.PATH}`, VIRTUAL_ENV: venv, PIP_NO_INPUT: "1" },
    ctx.repoConfig.env,
  );
  const commands = ctx.repoConfig.install;
  if (commands.length === 0) {
    const r = await step(
      venvPython,
      ["-m", "pip", "install", "-r", REQUIREMENTS],
      `python -m pip install -r ${REQUIREMENTS}`,
      env,
    );
    const problem = notRun(r, "pip");
    if (problem) return problem;
    if (r.exitCode !== 0)
      return failed(`pip install -r ${REQUIREMENTS} failed with exit code ${r.exitCode}`, r.exitCode);
    return finish("success", `Installed ${REQUIREMENTS} into a virtualenv`, 0, { python: venvPython });
  }
  for (const command of commands) {
    const r = await step("sh", ["-c", command], command, env);
    const problem = notRun(r, `"${command}"`);
    if (problem) return problem;
    if (r.exitCode !== 0) return failed(`Install command failed with exit code ${r.exitCode}: ${command}`, r.exitCode);
  }
  return finish("success", `Ran ${plural(commands.length, "install command")} in a virtualenv`, 0, {
    python: venvPython,
  });
}
