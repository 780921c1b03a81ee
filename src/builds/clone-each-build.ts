import { freshClone, type CodeSource } from "../checkout/code-source.js";
import { ensureSshControlDir, sshControlDir } from "../checkout/ssh-connections.js";
import type { CloneSource } from "../checkout/workspace.js";
import type { Config } from "../config.js";
import type { BuildRequest } from "../model/build-request.js";

/**
 * The server's builds: each a fresh clone of its exact commit, through the
 * git cache in CI_DATA_DIR, refused when the work dir's disk is short
 * (CI_MIN_FREE_DISK).
 */
export function cloneEachBuild(
  config: Config,
): (request: BuildRequest, cloneToken: () => Promise<string | undefined>) => Promise<CodeSource> {
  return async (request, cloneToken) =>
    freshClone({
      source: await cloneSource(config, request, cloneToken),
      sha: request.sha,
      ...(request.prNumber !== undefined ? { prNumber: request.prNumber } : {}),
      cache: { dir: config.dataDir, maxBytes: config.cacheMaxBytes },
      minFreeDiskBytes: config.minFreeDiskBytes,
    });
}

/** SSH with the configured key (one connection per host kept open between builds), or HTTPS with a fresh token (never in the URL). */
async function cloneSource(
  config: Config,
  request: BuildRequest,
  cloneToken: () => Promise<string | undefined>,
): Promise<CloneSource> {
  if (config.cloneProtocol === "ssh") {
    const dir = sshControlDir(config.dataDir);
    const controlDir = dir && (await ensureSshControlDir(dir)) ? dir : undefined;
    return {
      protocol: "ssh",
      url: request.sshUrl,
      sshKeyPath: config.sshKeyPath!,
      knownHostsPath: config.knownHostsPath,
      ...(controlDir ? { controlDir } : {}),
    };
  }
  const token = await cloneToken();
  return { protocol: "https", url: request.cloneUrl, ...(token ? { token } : {}) };
}
