#!/usr/bin/env node
import { existsSync, readFileSync } from "node:fs";
import { parseEnv } from "node:util";
import { run } from "probot";
import { ConfigError, loadConfig } from "./config.js";
import { createApp } from "./index.js";
import { createServerLog } from "./server-log.js";
import { sweepWorkspaces } from "./pipeline/workspace.js";
import { knownSecrets } from "./pipeline/known-secrets.js";
import { sandboxSettings } from "./pipeline/sandbox-settings.js";
import { sandboxStartupReport } from "./pipeline/sandbox-startup-report.js";

/** `npm start`: validate the configuration, sweep leftovers, then serve the app with Probot. */
async function main(): Promise<void> {
  // the same precedence as Probot's applyEnv (the file wins), so that what is
  // validated here is exactly what Probot will use
  if (existsSync(".env")) Object.assign(process.env, parseEnv(readFileSync(".env", "utf8")));
  const config = loadConfig();
  const swept = await sweepWorkspaces(config.workDir);
  if (swept > 0) console.error(`pyci: removed ${swept} checkout(s) left behind by an earlier run`);
  // which sandbox the code under test gets, and secret files others can read (README: The code under test)
  const sandbox = await sandboxStartupReport(sandboxSettings(config));
  if (sandbox.problem) console.error(`pyci: the sandbox cannot run, every build will error: ${sandbox.problem}`);
  else console.error(`pyci: code under test sandbox: ${sandbox.description}`);
  for (const warning of sandbox.warnings) console.error(`pyci: warning: ${warning}`);
  // the key is masked line by line: logs are masked a line at a time
  const keyLines = (privateKey() ?? "").split(/\\n|\n/).filter((line) => line.length >= 16 && !line.startsWith("-----"));
  const secrets = [process.env.WEBHOOK_SECRET, ...keyLines, ...knownSecrets(process.env, config.sshKeyPath)].filter((s): s is string => !!s && s !== "development");
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
