import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import type { PullRequestEvent } from "@octokit/webhooks-types";

export interface PullRequestPayloadOptions {
  /** opened | reopened | synchronize | closed | … */
  action: string;
  owner: string;
  repo: string;
  number: number;
  headSha: string;
  /** Default: a fixed fake SHA (derived from owner/repo). */
  baseSha?: string;
  /** repository.ssh_url (and base.repo's; head.repo's too unless fork). */
  sshUrl: string;
  /** repository.clone_url (and base.repo's; head.repo's too unless fork). */
  cloneUrl: string;
  installationId: number;
  title?: string;
  /** head.repo is a fork owned by forkOwner; build from refs/pull/<number>/head of the base repository. */
  fork?: boolean;
  /** Default "contributor". */
  forkOwner?: string;
  /** The fork's URLs; default github.com URLs, unreachable in tests, so cloning the fork fails. */
  forkSshUrl?: string;
  forkCloneUrl?: string;
  /** For action closed: whether it was merged. */
  merged?: boolean;
  mergeCommitSha?: string;
  /** Default "feature". */
  headRef?: string;
  /** Default "main". */
  baseRef?: string;
  /** repository.default_branch; default baseRef. */
  defaultBranch?: string;
  /** For synchronize: the previous head. Default baseSha. */
  before?: string;
}

const require = createRequire(import.meta.url);

interface WebhookDefinition {
  name: string;
  examples: Record<string, unknown>[];
}

/**
 * A `pull_request` webhook payload: GitHub's own `opened` example from @octokit/webhooks-examples
 * (the one with an installation), moved to owner/repo and given the options' numbers and SHAs.
 */
export function pullRequestPayload(o: PullRequestPayloadOptions): PullRequestEvent {
  const example = exampleOpened();
  const baseRef = o.baseRef ?? "main";
  const headRef = o.headRef ?? "feature";
  const baseSha = o.baseSha ?? fakeSha(`${o.owner}/${o.repo}@${baseRef}`);
  const forkOwner = o.forkOwner ?? "contributor";
  const full = `${o.owner}/${o.repo}`;

  const p = moved(example, "Codertocat", "Hello-World", o.owner, o.repo) as any;
  const repository = p.repository;
  Object.assign(repository, { ssh_url: o.sshUrl, clone_url: o.cloneUrl, default_branch: o.defaultBranch ?? baseRef });

  const pr = p.pull_request;
  const api = `https://api.github.com/repos/${full}`;
  Object.assign(pr, {
    number: o.number,
    title: o.title ?? pr.title,
    url: `${api}/pulls/${o.number}`,
    html_url: `https://github.com/${full}/pull/${o.number}`,
    diff_url: `https://github.com/${full}/pull/${o.number}.diff`,
    patch_url: `https://github.com/${full}/pull/${o.number}.patch`,
    issue_url: `${api}/issues/${o.number}`,
    commits_url: `${api}/pulls/${o.number}/commits`,
    review_comments_url: `${api}/pulls/${o.number}/comments`,
    comments_url: `${api}/issues/${o.number}/comments`,
    statuses_url: `${api}/statuses/${o.headSha}`,
  });
  pr._links.self.href = pr.url;
  pr._links.html.href = pr.html_url;
  pr._links.issue.href = pr.issue_url;
  pr._links.comments.href = pr.comments_url;
  pr._links.review_comments.href = pr.review_comments_url;
  pr._links.commits.href = pr.commits_url;
  pr._links.statuses.href = pr.statuses_url;

  Object.assign(pr.base, { ref: baseRef, sha: baseSha, label: `${o.owner}:${baseRef}` });
  Object.assign(pr.base.repo, { ssh_url: o.sshUrl, clone_url: o.cloneUrl, default_branch: o.defaultBranch ?? baseRef });
  Object.assign(pr.head, { ref: headRef, sha: o.headSha, label: `${o.owner}:${headRef}` });
  Object.assign(pr.head.repo, { ssh_url: o.sshUrl, clone_url: o.cloneUrl, default_branch: o.defaultBranch ?? baseRef });

  if (o.fork) {
    const forked = moved(
      { user: pr.head.user, repo: pr.head.repo, sender: p.sender },
      o.owner,
      o.repo,
      forkOwner,
      o.repo,
    ) as any;
    Object.assign(forked.repo, {
      id: pr.head.repo.id + 1,
      node_id: Buffer.from(`Repository${pr.head.repo.id + 1}`).toString("base64"),
      fork: true,
      ssh_url: o.forkSshUrl ?? `git@github.com:${forkOwner}/${o.repo}.git`,
      clone_url: o.forkCloneUrl ?? `https://github.com/${forkOwner}/${o.repo}.git`,
    });
    for (const user of [forked.user, forked.repo.owner, forked.sender]) {
      Object.assign(user, { id: user.id + 1, node_id: Buffer.from(`User${user.id + 1}`).toString("base64") });
    }
    Object.assign(pr.head, { user: forked.user, repo: forked.repo, label: `${forkOwner}:${headRef}` });
    pr.user = forked.user;
    pr.author_association = "CONTRIBUTOR";
    p.sender = forked.sender;
  }

  p.action = o.action;
  p.number = o.number;
  p.installation = { id: o.installationId, node_id: Buffer.from(`Installation${o.installationId}`).toString("base64") };
  Object.assign(pr, {
    state: "open",
    closed_at: null,
    merged: false,
    merged_at: null,
    merged_by: null,
    merge_commit_sha: null,
  });
  if (o.action === "synchronize") {
    p.before = o.before ?? baseSha;
    p.after = o.headSha;
  }
  if (o.action === "closed") {
    const at = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
    Object.assign(pr, { state: "closed", closed_at: at, updated_at: at });
    if (o.merged) {
      Object.assign(pr, {
        merged: true,
        merged_at: at,
        merged_by: repository.owner,
        merge_commit_sha: o.mergeCommitSha ?? fakeSha(`${full}#${o.number} merge`),
      });
    }
  }
  if (o.mergeCommitSha && !o.merged) pr.merge_commit_sha = o.mergeCommitSha;
  return p as PullRequestEvent;
}

function exampleOpened(): Record<string, unknown> {
  const definitions = require("@octokit/webhooks-examples") as WebhookDefinition[];
  const examples = definitions.find((d) => d.name === "pull_request")?.examples ?? [];
  const example = examples.find(
    (e) => e.action === "opened" && e.installation !== undefined && e.organization === undefined,
  );
  if (!example) throw new Error("@octokit/webhooks-examples has no pull_request.opened example with an installation");
  return example;
}

/**
 * A deep copy with `owner/repo` moved to `toOwner/toRepo` wherever it names them: in URLs
 * (`…/owner/repo…`, `/users/owner`, `github.com/owner`), `owner:` labels and exact-match fields (login, name).
 */
function moved(value: unknown, owner: string, repo: string, toOwner: string, toRepo: string): unknown {
  const json = (s: string) => JSON.stringify(s).slice(1, -1);
  const re = (s: string) => json(s).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const [o, r, to, tr] = [re(owner), re(repo), json(toOwner), json(toRepo)];
  const text = JSON.stringify(value)
    .replace(new RegExp(`(["/:])${o}/${r}(?=["/.#@{?])`, "g"), (_, lead: string) => `${lead}${to}/${tr}`)
    .replace(new RegExp(`"${r}"`, "g"), () => `"${tr}"`)
    .replace(new RegExp(`"${o}(?=[":])`, "g"), () => `"${to}`)
    .replace(new RegExp(`/(users/|)${o}(?=["/])`, "g"), (_, users: string) => `/${users}${to}`);
  return JSON.parse(text);
}

function fakeSha(seed: string): string {
  return createHash("sha1").update(seed).digest("hex");
}
