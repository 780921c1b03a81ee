import type { Logger } from "probot";
import type { Config } from "../config.js";
import type { Octokit } from "../github/types.js";
import type { BuildStore } from "../store/build-store.js";
import type { BuildQueue } from "./build-queue.js";

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
