import type { Server } from "node:http";
import type { Logger } from "probot";

export interface ShutdownOptions {
  server: Server;
  log: Logger;
  /** Called first: from then on the webhook route answers 503. */
  stopDeliveries(): void;
  /** The app's graceful stop of its builds (AppControl.shutdown with CI_SHUTDOWN_GRACE). */
  stopBuilds(): Promise<void>;
  exit?: (code: number) => void;
}

/**
 * SIGTERM and SIGINT stop the server gracefully:
 * 1. deliveries are refused (503, so GitHub shows a failed delivery that can
 *    be redelivered) and the listening socket is closed (new connections are
 *    refused); idle keep-alive connections are closed;
 * 2. the builds get their grace period, then are stopped (see shutdownBuilds);
 * 3. the remaining connections (live log streams) are closed and the process exits 0.
 * A second signal exits at once (code 1).
 */
export function shutDownOnSignals(options: ShutdownOptions): void {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      options.log.warn({ signal }, "second signal: exiting now, without waiting for the builds");
      exit(1);
      return;
    }
    stopping = true;
    options.log.info({ signal }, "shutting down: refusing deliveries, letting running builds finish");
    // 1. no new deliveries, no new connections
    options.stopDeliveries();
    options.server.close();
    options.server.closeIdleConnections();
    // 2. the builds
    void options
      .stopBuilds()
      .catch((error: unknown) => options.log.error({ err: error }, "stopping the builds failed"))
      .then(() => {
        // 3. done
        options.server.closeAllConnections();
        options.log.info("shut down");
        exit(0);
      });
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
}
