import type { Config } from "../config.js";
import type { Octokit } from "../github/types.js";
import { ensureSshControlDir, sshControlDir } from "../checkout/ssh-connections.js";
import type { CloneSource } from "../checkout/workspace.js";
import type { BuildRequest } from "../model/build-request.js";

/** SSH with the configured key (one connection per host kept open between builds), or HTTPS with a fresh installation token (never in the URL). */
export async function cloneSource(config: Config, request: BuildRequest, octokit: Octokit): Promise<CloneSource> {
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
  const auth = (await octokit.auth({ type: "installation" })) as { token?: string };
  return { protocol: "https", url: request.cloneUrl, ...(auth.token ? { token: auth.token } : {}) };
}
