import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import { type CodeSource, freshClone, workingTreeCopy } from "./code-source.js";

/** What `pyci run <target> [--ref REF]` builds, or why it cannot: said in one line. */
export type LocalTarget = { source: CodeSource; description: string } | { problem: string };

/** https://…, ssh://…, file://… and git's scp-like user@host:path (no "/" before the ":"). */
const URL_LIKE = /^([a-z][a-z0-9+.-]*:\/\/|[^/:]+@[^/:]+:)/i;

/**
 * `pyci run`'s target, resolved against the current directory:
 * - an existing directory: its working tree copied (uncommitted changes
 *   included), or with `ref`, that ref cloned from it (it must be a git
 *   repository);
 * - a git URL: cloned, at `ref` or HEAD;
 * - anything else is said to be missing, not tried as a URL.
 */
export async function localTarget(target: string, ref: string | undefined): Promise<LocalTarget> {
  const info = await stat(target).catch(() => undefined);
  if (info?.isDirectory()) {
    const dir = resolve(target);
    if (ref === undefined) return { source: workingTreeCopy(dir), description: `the working tree of ${dir}` };
    return { source: freshClone({ source: { protocol: "local", url: dir }, ref }), description: `${ref} of ${dir}` };
  }
  if (URL_LIKE.test(target)) {
    return {
      source: freshClone({ source: { protocol: "local", url: target }, ...(ref ? { ref } : {}) }),
      description: `${ref ?? "HEAD"} of ${target}`,
    };
  }
  if (info) return { problem: `${resolve(target)} is a file: give the project's directory or a git URL` };
  return {
    problem: `No such directory: ${resolve(target)} (a repository to clone is given as a URL: https://…, ssh://…, git@host:path or file://…)`,
  };
}
