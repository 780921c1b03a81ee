import { startBenchServer } from "./bench-server.js";
import { measureInstallReuse } from "./measure-install-reuse.js";
import { runAlone } from "./run-alone.js";

/**
 * The install-reuse figure alone (`npm run build && npx vite-node bench/run-install-reuse.ts`): a server
 * of its own, two builds of one repository; the raw figures as JSON with BENCH_INSTALL_DETAIL=1.
 */
runAlone("install-reuse", "BENCH_INSTALL_DETAIL", async (h, progress) => {
  const server = await startBenchServer(h, "install-reuse");
  try {
    return await measureInstallReuse(h, server, progress);
  } finally {
    await server.stop();
  }
});
