import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, isHttpUrl, loadConfig, readable, type Config } from "../config.js";
import { jobFork } from "./job-fork.js";

/** What a GitHub Actions job tells pyci, validated once at start-up. */
export interface ActionsEnv {
  /** pyci's settings: CI_PYTHON, CI_STEP_TIMEOUT, CI_DOCS_RELEASES_KEEP; data and scratch under the temp root. */
  config: Config;
  /** The job's token (GITHUB_TOKEN): masked in every stored and printed log. */
  token: string;
  /** The checkout actions/checkout made (GITHUB_WORKSPACE). */
  workspace: string;
  /** The workflow run: where statuses and the check run link. */
  runUrl: string;
  /** GHE_HOST / GHE_PROTOCOL for Probot, derived from GITHUB_API_URL; empty for api.github.com. */
  probotEnv: Record<string, string>;
  /** The fork a `pull_request` event comes from (its token is read-only: job-fork.ts); undefined otherwise. */
  fork: string | undefined;
}

const REPOSITORY = /^[A-Za-z0-9_.-]{1,100}\/[A-Za-z0-9_.-]{1,100}$/;

/**
 * Reads the variables GitHub Actions sets for every step (and the token the
 * step is given), and pyci's own CI_* settings. `tempRoot` is the job's
 * scratch space for build records and logs (under RUNNER_TEMP).
 * Throws a ConfigError naming every problem.
 */
export function loadActionsEnv(env: NodeJS.ProcessEnv, tempRoot: string): ActionsEnv {
  const problems: string[] = [];
  const required = (name: string, hint: string): string => {
    const value = env[name]?.trim();
    if (!value) problems.push(`${name} is not set. ${hint}`);
    return value ?? "";
  };

  // the same token variables @probot/adapter-github-actions reads, in its order
  const token = env.GITHUB_TOKEN || env.INPUT_GITHUB_TOKEN || env.INPUT_TOKEN || "";
  if (!token)
    problems.push(
      "GITHUB_TOKEN is not set. Give the step the job's token: `env: GITHUB_TOKEN: ${{ github.token }}` (pyci's action.yml does).",
    );
  const runner = "GitHub Actions sets it for every step; outside Actions, set it yourself.";
  const eventName = required("GITHUB_EVENT_NAME", runner);
  const eventPath = required("GITHUB_EVENT_PATH", runner);
  let payload: unknown;
  if (eventPath && !readable(eventPath)) problems.push(`GITHUB_EVENT_PATH=${eventPath} cannot be read.`);
  else if (eventPath) {
    try {
      payload = JSON.parse(readFileSync(eventPath, "utf8"));
    } catch {
      problems.push(`GITHUB_EVENT_PATH=${eventPath} is not the JSON of an event.`);
    }
  }
  const runId = required("GITHUB_RUN_ID", runner);
  const serverUrl = required("GITHUB_SERVER_URL", runner).replace(/\/+$/, "");
  if (serverUrl && !isHttpUrl(serverUrl)) problems.push(`GITHUB_SERVER_URL=${serverUrl} is not an http(s) URL.`);
  const repository = required("GITHUB_REPOSITORY", runner);
  if (
    repository &&
    (!REPOSITORY.test(repository) || repository.split("/").some((part) => part === "." || part === ".."))
  )
    problems.push(`GITHUB_REPOSITORY=${repository} is not owner/name.`);
  const workspace = required("GITHUB_WORKSPACE", runner);
  if (workspace && !isDirectory(workspace)) {
    problems.push(
      `GITHUB_WORKSPACE=${workspace} is not a directory. Check out the repository first (actions/checkout).`,
    );
  }

  const api = probotApiEnv(env);
  if (typeof api === "string") problems.push(api);

  let config: Config | undefined;
  try {
    // only pyci's Actions settings: the server's (NODE_ENV=production, CI_PUBLIC_URL,
    // WEBHOOK_SECRET, …) mean nothing in a job and must not fail it
    config = loadConfig({
      CI_PYTHON: env.CI_PYTHON,
      CI_STEP_TIMEOUT: env.CI_STEP_TIMEOUT,
      CI_DOCS_RELEASES_KEEP: env.CI_DOCS_RELEASES_KEEP,
      CI_DATA_DIR: join(tempRoot, "data"),
      CI_WORK_DIR: join(tempRoot, "work"),
      CI_CONCURRENCY: "1",
      // a fork's workflow runs only as GitHub's own approval setting for fork workflows allows, with a
      // read-only token: pyci could not post an approval request, and the job is the approval already
      CI_FORK_POLICY: "run",
    });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems);
  }

  if (problems.length > 0 || !config || typeof api === "string") throw new ConfigError(problems);
  return {
    config,
    token,
    workspace,
    runUrl: `${serverUrl}/${repository}/actions/runs/${runId}`,
    probotEnv: api,
    fork: jobFork(eventName, payload),
  };
}

/**
 * Probot 14's createProbot (which the adapter calls) finds GitHub's API only through
 * GHE_HOST and GHE_PROTOCOL (`<protocol>://<host>/api/v3`, else https://api.github.com),
 * while a job is told GITHUB_API_URL. Returns the variables that make the two agree
 * (none when GHE_HOST is set already or the API is api.github.com), or the problem.
 */
export function probotApiEnv(env: NodeJS.ProcessEnv): Record<string, string> | string {
  const apiUrl = env.GITHUB_API_URL?.trim();
  if (env.GHE_HOST?.trim() || !apiUrl) return {};
  let url: URL;
  try {
    url = new URL(apiUrl);
  } catch {
    return `GITHUB_API_URL=${apiUrl} is not a URL.`;
  }
  const path = url.pathname.replace(/\/+$/, "");
  if (url.protocol === "https:" && url.host === "api.github.com" && path === "") return {};
  if ((url.protocol === "http:" || url.protocol === "https:") && path === "/api/v3" && !url.search && !url.username) {
    return { GHE_HOST: url.host, GHE_PROTOCOL: url.protocol.slice(0, -1) };
  }
  return `GITHUB_API_URL=${apiUrl} is neither https://api.github.com nor <host>/api/v3 (GitHub Enterprise Server): Probot, which runs pyci in Actions, can only be pointed at those. If your API is also served at <protocol>://<host>/api/v3, set GHE_HOST and GHE_PROTOCOL to that.`;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
