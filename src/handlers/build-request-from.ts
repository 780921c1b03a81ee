import type {
  CheckRunRerequestedEvent,
  CheckSuiteRerequestedEvent,
  PullRequestEvent,
  PushEvent,
} from "@octokit/webhooks-types";
import type { BuildRequest, GitHubAuth } from "../model/build-request.js";
import { PIPELINES } from "../builds/pipelines.js";

/** Why a delivery starts no build; logged, and the delivery is acknowledged. */
export class Ignored {
  constructor(readonly reason: string) {}
}

const SHA = /^[0-9a-f]{40}$/;
const NAME = /^[A-Za-z0-9_.-]{1,100}$/;

/**
 * Pure: the build a delivery asks for, or why it asks for none. Payloads are
 * untrusted input even when signed (a bug upstream, a test sender): every
 * field pyci later passes to git or shows on a page is checked here.
 */
export function fromPullRequest(
  raw: unknown,
  deliveryId: string,
  auth: GitHubAuth = "installation",
): BuildRequest | Ignored {
  const payload = raw as Partial<PullRequestEvent>;
  const pr = payload.pull_request;
  if (!pr || !isId(pr.number)) return new Ignored("payload has no pull_request");
  const base = common(payload, deliveryId, auth, `pull_request.${String(payload.action)}`, pr.head?.sha);
  if (base instanceof Ignored) return base;
  return {
    ...base,
    prNumber: pr.number,
    ...(typeof pr.title === "string" ? { prTitle: pr.title } : {}),
    ...(typeof pr.html_url === "string" ? { prUrl: pr.html_url } : {}),
    ...(typeof pr.head?.ref === "string" ? { branch: pr.head.ref } : {}),
  };
}

/** A merged pull request: the docs pipeline at the merge commit, on the branch it went into. */
export function fromMergedPullRequest(
  raw: unknown,
  deliveryId: string,
  auth: GitHubAuth = "installation",
): BuildRequest | Ignored {
  const payload = raw as Partial<PullRequestEvent>;
  const pr = payload.pull_request;
  if (!pr || !isId(pr.number)) return new Ignored("payload has no pull_request");
  if (pr.merged !== true) return new Ignored("pull request closed without merging");
  const base = common(payload, deliveryId, auth, "pull_request.closed", pr.merge_commit_sha);
  if (base instanceof Ignored) return base;
  const branch = pr.base?.ref;
  if (typeof branch !== "string" || branch === "") return new Ignored("pull request has no base branch");
  return {
    ...base,
    pipeline: "docs",
    prNumber: pr.number,
    branch,
    ...(typeof pr.title === "string" ? { prTitle: pr.title } : {}),
    ...(typeof pr.html_url === "string" ? { prUrl: pr.html_url } : {}),
  };
}

/**
 * A push to a branch (GitHub Actions' docs job, `on: push`): the docs pipeline at the pushed
 * commit, on that branch. Tags and deleted branches build nothing.
 */
export function fromPush(raw: unknown, deliveryId: string, auth: GitHubAuth = "installation"): BuildRequest | Ignored {
  const payload = raw as Partial<PushEvent>;
  if (typeof payload.ref !== "string" || !payload.ref.startsWith("refs/heads/"))
    return new Ignored("a push of a tag or of no branch");
  if (payload.deleted === true) return new Ignored("a branch was deleted");
  const branch = payload.ref.slice("refs/heads/".length);
  if (branch === "") return new Ignored("a push of no branch");
  const base = common(payload, deliveryId, auth, "push", payload.after);
  if (base instanceof Ignored) return base;
  return { ...base, pipeline: "docs", branch };
}

export function fromCheckRun(
  raw: unknown,
  deliveryId: string,
  auth: GitHubAuth = "installation",
): BuildRequest | Ignored {
  const payload = raw as Partial<CheckRunRerequestedEvent>;
  const run = payload.check_run;
  if (!run) return new Ignored("payload has no check_run");
  const base = common(payload, deliveryId, auth, "check_run.rerequested", run.head_sha);
  if (base instanceof Ignored) return base;
  // the docs check run re-runs the docs pipeline; anything else the pull-request one
  const pipeline = run.name === PIPELINES.docs.checkRunName ? "docs" : "pr";
  return withPullRequest({ ...base, pipeline }, run.pull_requests);
}

export function fromCheckSuite(
  raw: unknown,
  deliveryId: string,
  auth: GitHubAuth = "installation",
): BuildRequest | Ignored {
  const payload = raw as Partial<CheckSuiteRerequestedEvent>;
  const suite = payload.check_suite;
  if (!suite) return new Ignored("payload has no check_suite");
  const base = common(payload, deliveryId, auth, "check_suite.rerequested", suite.head_sha);
  if (base instanceof Ignored) return base;
  return withPullRequest(base, suite.pull_requests);
}

type Payload = {
  repository?: { name?: unknown; owner?: { login?: unknown }; ssh_url?: unknown; clone_url?: unknown };
  installation?: { id?: unknown };
};

function common(
  payload: Payload,
  deliveryId: string,
  auth: GitHubAuth,
  event: string,
  sha: unknown,
): BuildRequest | Ignored {
  const repository = payload.repository;
  const installationId = payload.installation?.id;
  if (auth === "installation" && !isId(installationId)) {
    return new Ignored("delivery has no installation (is the GitHub App installed on this repository?)");
  }
  if (!repository) return new Ignored("payload has no repository");
  const owner = repository.owner?.login;
  const repo = repository.name;
  if (!isName(owner) || !isName(repo)) {
    return new Ignored("repository owner or name is missing or malformed");
  }
  if (typeof sha !== "string" || !SHA.test(sha)) return new Ignored("head commit SHA is missing or malformed");
  const sshUrl = repository.ssh_url;
  const cloneUrl = repository.clone_url;
  if (!isGitUrl(sshUrl) || !isGitUrl(cloneUrl)) return new Ignored("repository clone URLs are missing or malformed");
  return {
    pipeline: "pr",
    owner,
    repo,
    sha,
    event,
    deliveryId,
    ...(isId(installationId) ? { installationId } : {}),
    sshUrl,
    cloneUrl,
  };
}

function withPullRequest(
  base: BuildRequest,
  pulls: ({ number?: unknown; head?: { sha?: unknown } } | null)[] | undefined,
): BuildRequest {
  if (!Array.isArray(pulls)) return base;
  const pr = pulls.find((p) => p?.head?.sha === base.sha) ?? pulls[0];
  return isId(pr?.number) ? { ...base, prNumber: pr.number } : base;
}

/** An owner or repository name: it goes into API paths, where "." and ".." would climb. */
function isName(value: unknown): value is string {
  return typeof value === "string" && NAME.test(value) && value !== "." && value !== "..";
}

/** GitHub's ids and numbers: positive integers (JSON also allows 1.5, -1 and 1e400). */
function isId(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) > 0;
}

/** A URL git may be handed as an argument: no option-looking or control characters. */
function isGitUrl(value: unknown): value is string {
  return (
    typeof value === "string" &&
    value.length > 0 &&
    value.length < 2048 &&
    !value.startsWith("-") &&
    !/[\s\u0000-\u001f]/.test(value)
  );
}
