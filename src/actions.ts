#!/usr/bin/env node
// pyci inside a GitHub Actions job: `node dist/actions.js` (bin `pyci-actions`; see action.yml).
//
// Probot 13 or 14: @probot/adapter-github-actions 4.0.3, the newest on the registry, declares
// probot ^13, while pyci is built on probot 14. The adapter is a devDependency: `npm run build`
// inlines it into dist/actions.js (scripts/bundle-actions.js) and leaves its `probot` and `pino`
// imports to pyci's own, so a single Probot 14 runs the same app function as the server, in a
// checkout and in an installed pyci alike (npm applies package.json "overrides", which hand the
// adapter pyci's probot for its types here, only at a project's root). The adapter needs only
// what probot 14 still has, with the same meaning: createProbot({ overrides: { githubToken, log } }),
// probot.load(app) — which gives no addHandler, there being no server — and
// probot.receive({ id, name, payload }).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run } from "@probot/adapter-github-actions";
import { ActionsOutcome } from "./actions/actions-outcome.js";
import { cancelOnSignals } from "./actions/cancel-on-signals.js";
import { createActionsApp } from "./actions/create-actions-app.js";
import { appendJobSummary, forkNote, jobSummary } from "./actions/job-summary.js";
import { loadActionsEnv } from "./actions/load-actions-env.js";
import { printStepLogs } from "./actions/print-step-logs.js";
import { BuildQueue } from "./builds/build-queue.js";
import { ConfigError } from "./config.js";
import { maskSecrets } from "./secrets/mask-secrets.js";
import { BuildStore } from "./store/build-store.js";

/**
 * 1. validates the job's environment (GITHUB_* and pyci's CI_*);
 * 2. points Probot at the job's API (GITHUB_API_URL → GHE_HOST/GHE_PROTOCOL);
 * 3. lets the adapter hand the event (GITHUB_EVENT_NAME/GITHUB_EVENT_PATH) to the app;
 * 4. waits for the builds the handlers queued; a cancelled job (SIGINT, SIGTERM) cancels them, and
 *    reports them so;
 * 5. prints every step's log, then one line per build (or why there was none), and writes them
 *    to the job summary; for a fork's pull request (read-only token: nothing was written to
 *    GitHub), says why nothing shows on the commit;
 * 6. exits 0 (passed, or nothing to build), 1 (a step failed) or 2 (pyci could not run or report).
 */
async function main(): Promise<number> {
  const tempRoot = mkdtempSync(join(process.env.RUNNER_TEMP?.trim() || tmpdir(), "pyci-"));
  try {
    // 1.
    const env = loadActionsEnv(process.env, tempRoot);
    // 2. createProbot reads process.env
    Object.assign(process.env, env.probotEnv);

    // 3.
    const store = new BuildStore(env.config.dataDir);
    const queue = new BuildQueue(env.config.concurrency);
    const outcome = new ActionsOutcome();
    const cancellation = cancelOnSignals(queue, outcome);
    await run(
      createActionsApp(env.config, {
        store,
        queue,
        workspace: env.workspace,
        runUrl: env.runUrl,
        secrets: [env.token],
        outcome,
        readOnly: env.fork !== undefined,
      }),
    );

    // 4.
    await cancellation.settled();
    if (cancellation.cancelled)
      process.stdout.write("pyci: the job was cancelled: its builds are reported cancelled\n");

    // 5.
    await printStepLogs(store, outcome.builds, (text) => process.stdout.write(text));
    const verdict = outcome.verdict();
    const mask = maskSecrets([env.token]);
    verdict.lines = verdict.lines.map(mask);
    if (env.fork) process.stdout.write(`::notice title=pyci::${escapeData(forkNote(env.fork))}\n`);
    for (const line of verdict.lines) {
      process.stdout.write(verdict.exitCode === 0 ? `pyci: ${line}\n` : `::error title=pyci::${escapeData(line)}\n`);
    }
    const failed = appendJobSummary(process.env.GITHUB_STEP_SUMMARY, jobSummary(verdict, env.runUrl, env.fork));
    if (failed) process.stdout.write(`::warning title=pyci::${escapeData(`no job summary: ${failed.message}`)}\n`);

    // 6.
    return verdict.exitCode;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stdout.write(`::error title=pyci::${escapeData(error.message)}\n`);
    return 2;
  } finally {
    removeTempRoot(tempRoot);
  }
}

/** The runner empties RUNNER_TEMP after the job anyway: failing to remove it never fails the job. */
function removeTempRoot(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  } catch (error) {
    process.stdout.write(
      `::warning title=pyci::${escapeData(`could not remove ${dir}: ${(error as Error).message}`)}\n`,
    );
  }
}

/** A workflow command's data: `%`, CR and LF escaped, so it cannot end the command early. */
function escapeData(text: string): string {
  return text.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
}

/** Exits once stdout is flushed (a pipe is asynchronous on some runners' systems). */
function exit(code: number): void {
  process.stdout.write("", () => process.exit(code));
}

main().then(exit, (error: unknown) => {
  console.error("pyci crashed:", error);
  exit(2);
});
