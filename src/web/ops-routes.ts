import { accessSync, constants, mkdirSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Registry } from "prom-client";
import type { BuildStore } from "../store/build-store.js";
import { requireAdminToken } from "./admin-token.js";
import { send, sendText } from "./send-response.js";

export interface OpsRoutesOptions {
  store: Pick<BuildStore, "healthy">;
  /** CI_WORK_DIR: where checkouts are made. */
  workDir: string;
  registry: Registry;
  /** CI_ADMIN_TOKEN: when set, /metrics needs it too; without it /metrics is open (it names no repository). */
  adminToken: string | undefined;
  /** With CI_REDIS_URL: why builds cannot be handed to workers right now (Redis away), or undefined. */
  handOverProblem?(): string | undefined;
}

/**
 * GET /healthz   200 "ok" while the database answers, CI_DATA_DIR's logs and CI_WORK_DIR are writable
 *                and (with CI_REDIS_URL) Redis answers;
 *                503 with the reason otherwise. Open to anyone: it says nothing about builds.
 * GET /metrics   Prometheus text (see src/metrics/create-metrics.ts).
 */
export function opsRoutes(options: OpsRoutesOptions) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    if (path !== "/healthz" && path !== "/metrics") return false;
    if (req.method !== "GET" && req.method !== "HEAD") {
      sendText(res, 405, "Method not allowed", { allow: "GET, HEAD" });
      return true;
    }
    if (path === "/healthz") {
      const problem = unhealthy(options);
      sendText(res, problem ? 503 : 200, problem ?? "ok");
      return true;
    }
    if (options.adminToken && !requireAdminToken(req, res, options.adminToken)) return true;
    let text: string;
    try {
      text = await options.registry.metrics();
    } catch {
      sendText(res, 500, "Could not collect the metrics: the database does not answer (see /healthz)");
      return true;
    }
    send(res, 200, options.registry.contentType, text);
    return true;
  };
}

/** Why pyci cannot build right now, or undefined when it can. No paths: the answer is public. */
function unhealthy(options: OpsRoutesOptions): string | undefined {
  if (!options.store.healthy()) return "unhealthy: the database does not answer, or CI_DATA_DIR is not writable";
  try {
    mkdirSync(options.workDir, { recursive: true });
    accessSync(options.workDir, constants.W_OK | constants.X_OK);
  } catch {
    return "unhealthy: CI_WORK_DIR is not writable";
  }
  const handOver = options.handOverProblem?.();
  return handOver ? `unhealthy: ${handOver}` : undefined;
}
