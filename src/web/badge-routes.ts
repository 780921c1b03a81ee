import type { IncomingMessage, ServerResponse } from "node:http";
import type { BuildState, BuildStore } from "../store/build-store.js";
import { badgeSvg } from "./badge-svg.js";
import { send, sendText } from "./send-response.js";

const BADGE = /^\/badge\/([^/]+)\/([^/]+)\.svg$/;
const NAME = /^[A-Za-z0-9_.-]{1,100}$/;
const MAX_BRANCH = 255;

/** What the badge says for the latest finished build's state; "unknown" when there is none. */
export const BADGE_MESSAGES: Record<
  Exclude<BuildState, "queued" | "running"> | "unknown",
  { message: string; color: string }
> = {
  success: { message: "passing", color: "#4c1" },
  failure: { message: "failing", color: "#e05d44" },
  error: { message: "error", color: "#fe7d37" },
  unknown: { message: "unknown", color: "#9f9f9f" },
};

/**
 * GET /badge/<owner>/<repo>.svg[?branch=<name>]: "pyci | passing" for the
 * latest finished pull-request build of the repository (on that branch, the
 * pull request's head branch; any branch without it). Served only when
 * CI_PUBLIC_BADGES=true; else 404, since repositories can be private.
 */
export function badgeRoutes(store: BuildStore, publicBadges: boolean) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (!url.pathname.startsWith("/badge/")) return false;
    if (!publicBadges) {
      sendText(res, 404, "Not found (badges are disabled: set CI_PUBLIC_BADGES=true to serve them)");
      return true;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      sendText(res, 405, "Method not allowed", { allow: "GET, HEAD" });
      return true;
    }
    const match = BADGE.exec(url.pathname);
    const [owner, repo] = match ? [decode(match[1]!), decode(match[2]!)] : [];
    const branch = url.searchParams.get("branch") || undefined;
    if (
      !owner ||
      !repo ||
      !NAME.test(owner) ||
      !NAME.test(repo) ||
      (branch !== undefined && branch.length > MAX_BRANCH)
    ) {
      sendText(res, 404, "Not found: badges are at /badge/<owner>/<repo>.svg?branch=<branch>");
      return true;
    }
    const latest = store.latest({
      owner,
      repo,
      pipeline: "pr",
      finishedOnly: true,
      ...(branch !== undefined ? { branch } : {}),
    });
    const state = latest && latest.state !== "queued" && latest.state !== "running" ? latest.state : "unknown";
    const svg = badgeSvg({
      label: "pyci",
      ...BADGE_MESSAGES[state],
      title: `${owner}/${repo}${branch !== undefined ? ` on ${branch}` : ""}`,
    });
    // camo (GitHub's image proxy) and browsers revalidate every time: the badge follows the builds
    send(res, 200, "image/svg+xml; charset=utf-8", svg, {
      "cache-control": "no-cache",
      "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'",
    });
    return true;
  };
}

function decode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}
