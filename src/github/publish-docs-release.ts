import { readFile } from "node:fs/promises";
import type { Artifact } from "../pipeline/types.js";
import { markdownText } from "../report/markdown-text.js";
import type { CommitTarget, GitHubWriter } from "./types.js";

/** Marks the releases pyci created; only those are ever updated or pruned. */
export const DOCS_RELEASE_MARKER = "<!-- pyci:docs-release -->";
export const DOCS_TAG_PREFIX = "docs-";

export interface DocsRelease {
  /** The merged pull request, for the release body. */
  prNumber?: number;
  prTitle?: string;
  buildUrl: string;
  archive: Artifact;
  /** Keep at most this many docs releases per repository (oldest pyci-made ones go first). */
  keep: number;
}

export interface PublishedRelease {
  tag: string;
  releaseId: number;
  htmlUrl?: string;
  assetUrl?: string;
}

export function docsTag(sha: string, length = 7): string {
  return `${DOCS_TAG_PREFIX}${sha.slice(0, length)}`;
}

/**
 * Publishes a docs archive as the asset of the release `docs-<short sha>`
 * at the merge commit:
 * 1. create the release, or reuse it when the tag exists (422 already_exists);
 * 2. replace an asset of the same name (delete, then upload through upload_url);
 * 3. prune the oldest docs releases pyci made beyond `keep`.
 * Redeliveries and racing deliveries of the same merge converge on one
 * release with one current asset. Docs releases never become "latest".
 */
export async function publishDocsRelease(
  github: GitHubWriter,
  target: CommitTarget,
  release: DocsRelease,
): Promise<PublishedRelease> {
  // one publish per repository at a time in this process: two merges
  // publishing side by side would otherwise prune each other's releases
  return serialized(`${target.owner}/${target.repo}`, async () => {
    let tag = docsTag(target.sha);
    let existing = await upsertRelease(github, target, tag, release);
    if (existing === "other commit") {
      // another merge's short sha: the same 7 characters, another commit
      tag = docsTag(target.sha, 12);
      existing = await upsertRelease(github, target, tag, release);
      if (existing === "other commit") throw new Error(`The tag ${tag} already names another commit`);
    }
    const assetUrl = await replaceAsset(github, target, existing, release.archive);
    await pruneDocsReleases(github, target, release.keep, tag);
    github.log.info({ tag, releaseId: existing.id }, "docs release published");
    return {
      tag,
      releaseId: existing.id,
      ...(existing.html_url ? { htmlUrl: existing.html_url } : {}),
      ...(assetUrl ? { assetUrl } : {}),
    };
  });
}

interface ReleaseData {
  id: number;
  target_commitish?: string;
  upload_url: string;
  html_url?: string;
  body?: string | null;
}

async function upsertRelease(
  github: GitHubWriter,
  target: CommitTarget,
  tag: string,
  release: DocsRelease,
): Promise<ReleaseData | "other commit"> {
  const { octokit } = github;
  const fields = {
    owner: target.owner,
    repo: target.repo,
    name: `Documentation build ${target.sha.slice(0, 7)}`,
    body: releaseBody(target, release),
    draft: false,
    prerelease: false,
    make_latest: "false" as const,
  };
  try {
    const { data } = await octokit.rest.repos.createRelease({ ...fields, tag_name: tag, target_commitish: target.sha });
    return data;
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
  }
  const { data: found } = await octokit.rest.repos.getReleaseByTag({ owner: target.owner, repo: target.repo, tag });
  if (!found.body?.includes(DOCS_RELEASE_MARKER)) {
    throw new Error(`The tag ${tag} belongs to a release pyci did not create; not touching it`);
  }
  if (found.target_commitish !== target.sha) return "other commit";
  const { data } = await octokit.rest.repos.updateRelease({ ...fields, release_id: found.id });
  return data;
}

async function replaceAsset(
  github: GitHubWriter,
  target: CommitTarget,
  release: ReleaseData,
  archive: Artifact,
): Promise<string | undefined> {
  const { octokit } = github;
  const data = await readFile(archive.path);
  for (let attempt = 1; ; attempt++) {
    const assets = await octokit.paginate(octokit.rest.repos.listReleaseAssets, {
      owner: target.owner,
      repo: target.repo,
      release_id: release.id,
      per_page: 100,
    });
    for (const asset of assets.filter((a) => a.name === archive.name)) {
      await octokit.rest.repos
        .deleteReleaseAsset({ owner: target.owner, repo: target.repo, asset_id: asset.id })
        .catch((error: unknown) => {
          if (status(error) !== 404) throw error; // a racing delivery deleted it first
        });
    }
    try {
      const { data: uploaded } = await octokit.request({
        method: "POST",
        url: release.upload_url,
        name: archive.name,
        data,
        headers: { "content-type": archive.contentType, "content-length": data.length },
      });
      return (uploaded as { browser_download_url?: string }).browser_download_url;
    } catch (error) {
      // 422: a racing delivery uploaded the same name in between; replace it again
      if (status(error) !== 422 || attempt >= 3) throw error;
    }
  }
}

/** Deletes the oldest docs releases (and their tags) pyci created, beyond `keep`. */
async function pruneDocsReleases(
  github: GitHubWriter,
  target: CommitTarget,
  keep: number,
  current: string,
): Promise<void> {
  const { octokit } = github;
  const releases = await octokit.paginate(octokit.rest.repos.listReleases, {
    owner: target.owner,
    repo: target.repo,
    per_page: 100,
  });
  const ours = releases
    .filter((r) => r.tag_name.startsWith(DOCS_TAG_PREFIX) && r.body?.includes(DOCS_RELEASE_MARKER))
    .sort(
      (a, b) =>
        (b.tag_name === current ? 1 : 0) - (a.tag_name === current ? 1 : 0) ||
        Date.parse(b.created_at) - Date.parse(a.created_at),
    );
  for (const old of ours.slice(Math.max(keep, 1))) {
    await octokit.rest.repos
      .deleteRelease({ owner: target.owner, repo: target.repo, release_id: old.id })
      .catch((error: unknown) => {
        if (status(error) !== 404) throw error; // another pyci process pruned it first
      });
    await octokit.rest.git
      .deleteRef({ owner: target.owner, repo: target.repo, ref: `tags/${old.tag_name}` })
      .catch((error: unknown) => {
        if (status(error) !== 422 && status(error) !== 404) throw error;
      });
    github.log.info({ tag: old.tag_name }, "old docs release pruned");
  }
}

function releaseBody(target: CommitTarget, release: DocsRelease): string {
  const pr =
    release.prNumber !== undefined
      ? `pull request #${release.prNumber}${release.prTitle ? ` (${markdownText(release.prTitle)})` : ""}`
      : "a merge";
  return [
    `Documentation built by pyci from ${pr} at ${target.sha}.`,
    "",
    `The HTML is attached as \`${release.archive.name}\`. Build output: ${release.buildUrl}`,
    "",
    "This is an automatic documentation build, not a software release.",
    DOCS_RELEASE_MARKER,
  ].join("\n");
}

function isAlreadyExists(error: unknown): boolean {
  if (status(error) !== 422) return false;
  const errors = (error as { response?: { data?: { errors?: { code?: string }[] } } }).response?.data?.errors ?? [];
  return errors.some((e) => e.code === "already_exists");
}

function status(error: unknown): number | undefined {
  return (error as { status?: number }).status;
}

const inFlight = new Map<string, Promise<unknown>>();

/** Publishing the same tag twice in one process runs one after the other. */
async function serialized<T>(key: string, job: () => Promise<T>): Promise<T> {
  const previous = inFlight.get(key) ?? Promise.resolve();
  const next = previous.catch(() => undefined).then(job);
  inFlight.set(key, next);
  try {
    return await next;
  } finally {
    if (inFlight.get(key) === next) inFlight.delete(key);
  }
}
