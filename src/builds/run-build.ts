import type { Logger } from "probot";
import type { Config } from "../config.js";
import { completeCheckRun, createCheckRun, startCheckRun } from "../github/check-run.js";
import { setStatus } from "../github/set-status.js";
import type { CommitTarget, GitHubWriter, Octokit } from "../github/types.js";
import { maskSecrets } from "../pipeline/mask-secrets.js";
import { PR_PIPELINE } from "../pipeline/pr-pipeline.js";
import { defaultRepoConfig, parseRepoConfig, REPO_CONFIG_PATH, RepoConfigError } from "../pipeline/repo-config.js";
import { runPipeline } from "../pipeline/run-pipeline.js";
import type { RepoConfig, StepResult, StepState } from "../pipeline/types.js";
import { checkout, CheckoutError, createWorkspace, type CloneSource } from "../pipeline/workspace.js";
import { annotationsFor } from "../report/annotations.js";
import { logTailText } from "../report/log-tail-text.js";
import { buildTitle, checkConclusion, STATUS_CONTEXTS, statusState } from "../report/state-map.js";
import { summaryMarkdown } from "../report/summary-markdown.js";
import { newBuildId, type BuildRecord, type BuildStore } from "../store/build-store.js";
import type { BuildQueue } from "./build-queue.js";
import type { BuildRequest } from "./build-request.js";

export interface BuildDeps {
  config: Config;
  store: BuildStore;
  queue: BuildQueue;
  /** An Octokit authenticated as the installation (tokens are minted and renewed by Probot). */
  octokitFor(installationId: number): Promise<Octokit>;
  log: Logger;
  /** Values that must never be stored or shown (webhook secret, private key). */
  secrets: string[];
}

export function buildUrl(config: Config, id: string): string {
  return `${config.publicUrl}/builds/${id}`;
}

/**
 * Accepts a build: records it, starts reporting `pending` on GitHub, and
 * queues it. Returns at once; the build starts once `pending` is out.
 */
export async function acceptBuild(deps: BuildDeps, request: BuildRequest): Promise<BuildRecord> {
  const record = deps.store.create({
    id: newBuildId(),
    owner: request.owner,
    repo: request.repo,
    sha: request.sha,
    event: request.event,
    deliveryId: request.deliveryId,
    ...(request.prNumber !== undefined ? { prNumber: request.prNumber } : {}),
    ...(request.prTitle !== undefined ? { prTitle: request.prTitle } : {}),
    ...(request.prUrl !== undefined ? { prUrl: request.prUrl } : {}),
    state: "queued",
    createdAt: new Date().toISOString(),
    steps: [],
  });
  const log = deps.log.child({ deliveryId: request.deliveryId, buildId: record.id, repo: `${request.owner}/${request.repo}`, sha: request.sha });
  log.info({ event: request.event, pr: request.prNumber }, "build accepted");
  const queued = reportQueued(deps, request, record, log);
  deps.queue.add(async () => {
    await queued;
    await runBuild(deps, request, record, log);
  });
  return record;
}

/** `pending` statuses and a queued check run; a GitHub failure here is logged, never fatal. */
async function reportQueued(deps: BuildDeps, request: BuildRequest, record: BuildRecord, log: Logger): Promise<void> {
  const ahead = deps.queue.running >= deps.config.concurrency ? deps.queue.length : 0;
  const description = ahead > 0 ? `Queued (${ahead} ahead)` : "Queued";
  try {
    const github = { octokit: await deps.octokitFor(request.installationId), log };
    await reportAll(github, request, deps.config, record.id, "pending", description);
    record.checkRunId = await createCheckRun(github, request, {
      externalId: record.id,
      detailsUrl: buildUrl(deps.config, record.id),
      status: "queued",
      title: description,
      summary: `Build queued for ${request.sha.slice(0, 7)}.`,
    });
    deps.store.save(record);
  } catch (error) {
    log.error({ err: error }, "could not report the queued build to GitHub; the build still runs");
  }
}

/**
 * Runs an accepted build:
 * 1. marks it running on GitHub;
 * 2. checks out the exact commit;
 * 3. reads the repository's config from its default branch;
 * 4. runs the pipeline;
 * 5. stores the results;
 * 6. reports the final statuses and check run;
 * 7. removes the checkout, whatever happened.
 */
export async function runBuild(deps: BuildDeps, request: BuildRequest, record: BuildRecord, log: Logger): Promise<void> {
  const { config, store } = deps;
  let github: GitHubWriter | undefined;
  const workspace = await createWorkspace(config.workDir, record.id);
  try {
    record.state = "running";
    record.startedAt = new Date().toISOString();
    store.save(record);

    // 1. running on GitHub: the check run says so; the statuses stay pending
    //    (every write costs a second of Probot's write throttling)
    github = { octokit: await deps.octokitFor(request.installationId), log };
    if (record.checkRunId) await startCheckRun(github, request, record.checkRunId, "Running", `Building ${request.sha.slice(0, 7)}…`);

    // 2. the exact commit
    const source = await cloneSource(config, request, github.octokit);
    const mask = maskSecrets([...deps.secrets, source.protocol === "https" ? source.token : undefined]);
    const checkoutResult = await runCheckout(deps, record, workspace, source, request, mask);
    record.steps.push(checkoutResult);
    store.save(record);
    if (checkoutResult.state !== "success") {
      await finish(deps, github, request, record, [checkoutResult]);
      return;
    }

    // 3. the repository's config, from its default branch only
    let repoConfig: RepoConfig;
    try {
      repoConfig = await readRepoConfig(github.octokit, request);
    } catch (error) {
      const failed: StepResult = { name: "config", state: "error", summary: (error as Error).message, exitCode: null, durationMs: 0 };
      record.steps.push(failed);
      await finish(deps, github, request, record, [failed]);
      return;
    }

    // 4. the pipeline
    const results = await runPipeline(PR_PIPELINE, {
      dir: workspace.dir,
      scratchDir: workspace.scratchDir,
      repoConfig,
      python: repoConfig.python ?? config.python,
      timeoutMs: config.stepTimeoutMs,
      openLog: (step) => store.openLog(record.id, step, mask),
      onStepEnd: (result) => log.info({ step: result.name, state: result.state, durationMs: result.durationMs }, "step finished"),
    });

    // 5 + 6. stored, then reported
    record.steps.push(...results);
    await finish(deps, github, request, record, results);
  } catch (error) {
    log.error({ err: error }, "build crashed");
    record.error = `pyci crashed: ${(error as Error).message}`;
    const crashed: StepResult = { name: "pyci", state: "error", summary: record.error, exitCode: null, durationMs: 0 };
    await finish(deps, github, request, record, [crashed]).catch((err: unknown) => log.error({ err }, "could not report the crash"));
  } finally {
    // 7. no checkout outlives its build
    await workspace.remove().catch((err: unknown) => log.error({ err, dir: workspace.dir }, "could not remove the checkout"));
  }
}

async function runCheckout(
  deps: BuildDeps,
  record: BuildRecord,
  workspace: Awaited<ReturnType<typeof createWorkspace>>,
  source: CloneSource,
  request: BuildRequest,
  mask: (text: string) => string,
): Promise<StepResult> {
  const started = performance.now();
  const log = deps.store.openLog(record.id, "checkout", mask);
  try {
    await checkout(workspace, {
      workRoot: deps.config.workDir,
      buildId: record.id,
      source,
      sha: request.sha,
      ...(request.prNumber !== undefined ? { prNumber: request.prNumber } : {}),
      log,
      timeoutMs: deps.config.stepTimeoutMs,
    });
    return { name: "checkout", state: "success", summary: `Checked out ${request.sha.slice(0, 7)}`, exitCode: 0, durationMs: ms(started) };
  } catch (error) {
    const message = error instanceof CheckoutError ? error.message : `Checkout crashed: ${(error as Error).message}`;
    log.write(`${message}\n`);
    return { name: "checkout", state: "error", summary: `Clone failed: ${message}`, exitCode: null, durationMs: ms(started) };
  } finally {
    log.close();
  }
}

async function cloneSource(config: Config, request: BuildRequest, octokit: Octokit): Promise<CloneSource> {
  if (config.cloneProtocol === "ssh") {
    return { protocol: "ssh", url: request.sshUrl, sshKeyPath: config.sshKeyPath!, knownHostsPath: config.knownHostsPath };
  }
  const auth = (await octokit.auth({ type: "installation" })) as { token?: string };
  return { protocol: "https", url: request.cloneUrl, ...(auth.token ? { token: auth.token } : {}) };
}

/** What `context.config("pyci.yml")` does: the file on the default branch, or the defaults. */
async function readRepoConfig(octokit: Octokit, request: BuildRequest): Promise<RepoConfig> {
  let raw: unknown;
  try {
    ({ config: raw } = await octokit.config.get({ owner: request.owner, repo: request.repo, path: REPO_CONFIG_PATH }));
  } catch (error) {
    const message = (error as Error).message;
    if (/could not be parsed/.test(message)) throw new RepoConfigError(`Invalid ${REPO_CONFIG_PATH}: not a YAML mapping`);
    throw new RepoConfigError(`Could not read ${REPO_CONFIG_PATH}: ${message}`);
  }
  if (!raw || Object.keys(raw).length === 0) return defaultRepoConfig();
  try {
    return parseRepoConfig(raw);
  } catch (error) {
    if (error instanceof RepoConfigError) throw new RepoConfigError(`Invalid ${REPO_CONFIG_PATH}: ${error.message}`);
    throw error;
  }
}

async function finish(deps: BuildDeps, github: GitHubWriter | undefined, request: BuildRequest, record: BuildRecord, results: StepResult[]): Promise<void> {
  const all = record.steps;
  record.state = overallState(all);
  record.finishedAt = new Date().toISOString();
  deps.store.save(record);
  if (!github) return;
  const url = buildUrl(deps.config, record.id);
  for (const [step, context] of Object.entries(STATUS_CONTEXTS)) {
    const result = results.find((r) => r.name === step) ?? blocking(results);
    await setStatus(github, request, { context, state: statusState(result.state), description: result.summary, targetUrl: url });
  }
  if (record.checkRunId) {
    const logs = await Promise.all(all.map(async (s) => ({ step: s.name, text: (await deps.store.readLog(record.id, s.name)) ?? "" })));
    await completeCheckRun(github, request, record.checkRunId, {
      conclusion: checkConclusion(all),
      title: buildTitle(all.filter((s) => s.name !== "checkout" || s.state !== "success")),
      summary: summaryMarkdown(all, url),
      text: logTailText(logs.filter((l) => l.text !== "")),
      annotations: annotationsFor(all),
    });
  }
  github.log.info({ state: record.state }, "build finished");
}

function blocking(results: StepResult[]): StepResult {
  return results.find((r) => r.state === "error" || r.state === "failure") ?? results[0]!;
}

function overallState(steps: StepResult[]): "success" | "failure" | "error" {
  const states = new Set<StepState>(steps.map((s) => s.state));
  if (states.has("error")) return "error";
  if (states.has("failure")) return "failure";
  return "success";
}

async function reportAll(github: GitHubWriter, target: CommitTarget, config: Config, id: string, state: "pending", description: string): Promise<void> {
  for (const context of Object.values(STATUS_CONTEXTS)) {
    await setStatus(github, target, { context, state, description, targetUrl: buildUrl(config, id) });
  }
}

function ms(started: number): number {
  return Math.round(performance.now() - started);
}
