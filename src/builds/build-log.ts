import type { Logger } from "probot";

/**
 * The logger of one build (or of a delivery before it has one): every line
 * carries the delivery id, the build id, the repository and the commit.
 */
export function buildLog(
  log: Logger,
  of: { deliveryId?: string | undefined; owner: string; repo: string; sha: string },
  buildId?: string,
  fields: Record<string, unknown> = {},
): Logger {
  return log.child({
    deliveryId: of.deliveryId,
    ...(buildId !== undefined ? { buildId } : {}),
    repo: `${of.owner}/${of.repo}`,
    sha: of.sha,
    ...fields,
  });
}
