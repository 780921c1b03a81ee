import { createServer, type Server } from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BuildStore, newBuildId, type BuildRecord } from "../../src/store/build-store.js";
import { buildRoutes, type BuildRoutesOptions } from "../../src/web/build-routes.js";
import { LiveClients } from "../../src/web/live-clients.js";

export interface RoutesServer {
  store: BuildStore;
  url: string;
  server: Server;
  close(): Promise<void>;
}

/**
 * The build routes on a loopback port, over a real store in a temporary directory: no GitHub, no Probot.
 * Live streams are capped at the defaults of CI_LIVE_CLIENTS_PER_BUILD and CI_LIVE_CLIENTS unless given.
 */
export async function serveBuildRoutes(options: Partial<BuildRoutesOptions> = {}): Promise<RoutesServer> {
  const dataDir = mkdtempSync(join(tmpdir(), "pyci-web-"));
  const store = new BuildStore(dataDir);
  const routes = buildRoutes(store, { liveClients: new LiveClients({ perBuild: 20, total: 200 }), ...options });
  const server = createServer((req, res) => {
    routes(req, res).then(
      (handled) => {
        if (!handled) res.writeHead(404).end("not a build route\n");
      },
      (error: unknown) => {
        console.error(error);
        if (!res.headersSent) res.writeHead(500);
        res.end();
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    store,
    url: `http://127.0.0.1:${port}`,
    server,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function newBuild(overrides: Partial<BuildRecord> = {}): BuildRecord {
  return {
    id: newBuildId(),
    owner: "acme",
    repo: "widgets",
    sha: "0123456789abcdef0123456789abcdef01234567",
    event: "pull_request.synchronize",
    pipeline: "pr",
    prNumber: 12,
    prTitle: "Make add() add",
    prUrl: "https://github.com/acme/widgets/pull/12",
    branch: "fix-add",
    state: "running",
    createdAt: new Date(Date.now() - 5000).toISOString(),
    startedAt: new Date(Date.now() - 4000).toISOString(),
    steps: [],
    ...overrides,
  };
}
