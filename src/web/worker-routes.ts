import type { IncomingMessage, ServerResponse } from "node:http";
import type { WorkerBeat } from "../workers/worker-heartbeat.js";
import { requireAdminToken } from "./admin-token.js";
import { send, sendJson, sendText } from "./send-response.js";
import { workersPage } from "./workers-page.js";

export interface WorkerRoutesOptions {
  /** CI_ADMIN_TOKEN. Without it both routes answer 404, as the rest of the admin API. */
  adminToken: string | undefined;
  /** The connected workers (CI_REDIS_URL); undefined on a server without workers. */
  workers?: () => Promise<WorkerBeat[]>;
}

/** Past this, the page says Redis does not answer rather than make the admin wait for it. */
const READ_TIMEOUT_MS = 3_000;

/**
 * The routes behind CI_ADMIN_TOKEN (Bearer, or Basic with the token as the password):
 * GET /workers       the connected workers (HTML): name, labels, running builds, started, last seen
 * GET /api/workers   the same as JSON: { workers: [{ name, labels, concurrency, running, startedAt, lastSeen }] }
 * A server without workers (no CI_REDIS_URL) lists none and says why.
 */
export function workerRoutes(options: WorkerRoutesOptions) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const path = new URL(req.url ?? "/", "http://localhost").pathname.replace(/\/+$/, "");
    if (path !== "/workers" && path !== "/api/workers") return false;
    if (!options.adminToken) {
      sendText(res, 404, "Not found (the admin pages and the API are disabled: set CI_ADMIN_TOKEN to enable them)");
      return true;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      sendText(res, 405, "Method not allowed", { allow: "GET, HEAD" });
      return true;
    }
    if (!requireAdminToken(req, res, options.adminToken)) return true;
    const { workers, problem, down } = await connected(options);
    const status = down ? 503 : 200;
    if (path === "/api/workers") sendJson(res, status, problem ? { workers, error: problem } : { workers });
    else send(res, status, "text/html; charset=utf-8", workersPage(workers, problem));
    return true;
  };
}

/** The workers, or why there are none to show (`down`: Redis does not answer). */
async function connected(
  options: WorkerRoutesOptions,
): Promise<{ workers: WorkerBeat[]; problem?: string; down?: boolean }> {
  if (!options.workers)
    return {
      workers: [],
      problem: "This server has no workers: CI_REDIS_URL is not set, so it builds everything itself.",
    };
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error("late")), READ_TIMEOUT_MS);
  });
  try {
    return { workers: await Promise.race([options.workers(), late]) };
  } catch {
    return {
      workers: [],
      problem: "Redis (CI_REDIS_URL) does not answer: the workers cannot be listed now.",
      down: true,
    };
  } finally {
    clearTimeout(timer);
  }
}
