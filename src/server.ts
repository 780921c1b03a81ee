#!/usr/bin/env node
import { existsSync, readFileSync } from "node:fs";
import { parseEnv } from "node:util";
import { run } from "probot";
import { ConfigError, loadConfig } from "./config.js";
import { createApp } from "./index.js";
import { createServerLog } from "./server-log.js";
import { sweepWorkspaces } from "./pipeline/workspace.js";

/** `npm start`: validate the configuration, sweep leftovers, then serve the app with Probot. */
async function main(): Promise<void> {
  // the same precedence as Probot's applyEnv (the file wins), so that what is
  // validated here is exactly what Probot will use
  if (existsSync(".env")) Object.assign(process.env, parseEnv(readFileSync(".env", "utf8")));
  const config = loadConfig();
  const swept = await sweepWorkspaces(config.workDir);
  if (swept > 0) console.error(`pyci: removed ${swept} checkout(s) left behind by an earlier run`);
  // the key is masked line by line: logs are masked a line at a time
  const keyLines = (privateKey() ?? "").split(/\\n|\n/).filter((line) => line.length >= 16 && !line.startsWith("-----"));
  const secrets = [process.env.WEBHOOK_SECRET, ...keyLines].filter((s): s is string => !!s && s !== "development");
  // builds a killed or crashed run left queued or running are settled as `error` on GitHub (README: Restarts)
  await run(createApp(config, { secrets, recoverInterrupted: true }), { log: await createServerLog() });
}

function privateKey(): string | undefined {
  if (process.env.PRIVATE_KEY) return process.env.PRIVATE_KEY;
  const path = process.env.PRIVATE_KEY_PATH;
  return path && existsSync(path) ? readFileSync(path, "utf8") : undefined;
}

process.on("unhandledRejection", (reason) => {
  console.error("pyci: unhandled rejection (the server keeps running):", reason);
});

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
