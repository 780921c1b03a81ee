#!/usr/bin/env -S node --max-semi-space-size=2
import { readFileSync } from "node:fs";
import { BACKUP_USAGE, backupCommand } from "./cli/backup-command.js";
import { RUN_USAGE, runCommand } from "./cli/run-command.js";
import { WORKER_USAGE, workerCommand } from "./cli/worker-command.js";
import type { Output } from "./cli/progress.js";
import { runDoctor } from "./doctor/run-doctor.js";
import { packageFile } from "./package-files.js";
import { isMain } from "./process/is-main.js";
import { serve } from "./server.js";

const USAGE = `Usage: pyci <command> [options]

Commands:
  run <directory|git-url>   build a Python project here as a pull request is built
                            (install, pyright, unittest; --docs for the Sphinx docs)
  serve                     start the CI server (what npm start runs); settings from
                            .env and the environment (docs/configuration.md)
  worker                    run builds a server hands out through Redis
                            (CI_REDIS_URL; docs/scale-out.md)
  doctor                    check the server's settings and surroundings, one line
                            per check with what to do; exit 0 when builds can run
  backup <directory>        copy the build database, logs and docs archives of
                            CI_DATA_DIR into a new directory, while the server runs

Options: --help (also after a command), --version`;

const SERVE_USAGE = `Usage: pyci serve

Starts the CI server in this directory: reads .env, then the environment
(APP_ID, PRIVATE_KEY or PRIVATE_KEY_PATH, WEBHOOK_SECRET, CI_PUBLIC_URL, …).
Without App credentials (outside production) it serves the App's registration
at <CI_PUBLIC_URL>/probot. Stops on SIGTERM/SIGINT, giving running builds
CI_SHUTDOWN_GRACE seconds.`;

const DOCTOR_USAGE = `Usage: pyci doctor

Checks what the server needs, as \`pyci serve\` in this directory would read it:
the configuration, the App's credentials and installations (or the token of a
repository webhook), SSH, Python, pyright, Sphinx, the sandbox, the data and
work directories and free disk. Exit 0 when the server can run builds, else 1.`;

/**
 * `pyci <command>`: the exit code, or undefined for `serve`, which runs until
 * it is stopped (the process is not exited under it).
 */
export async function main(
  argv: string[],
  out: Output = process.stdout,
  err: Output = process.stderr,
): Promise<number | undefined> {
  const [command, ...rest] = argv;
  const help = rest.includes("--help") || rest.includes("-h");
  switch (command) {
    case "run":
      return runCommand(rest, out, err);
    case "backup":
      return backupCommand(rest, out, err);
    case "worker":
      return workerCommand(rest, out, err);
    case "serve":
    case "doctor": {
      if (help) return say(out, command === "serve" ? SERVE_USAGE : DOCTOR_USAGE, 0);
      if (rest.length > 0) return say(err, `pyci: ${command} takes no arguments (${rest.join(" ")})`, 2);
      if (command === "doctor") return runDoctor((line) => out.write(`${line}\n`));
      await serve();
      return undefined;
    }
    case "--version":
    case "-V":
      return say(out, version(), 0);
    case "--help":
    case "-h":
      return say(out, `${USAGE}\n\n${RUN_USAGE}\n\n${BACKUP_USAGE}\n\n${WORKER_USAGE}`, 0);
    case undefined:
      return say(err, `pyci: no command given\n\n${USAGE}\n\n${RUN_USAGE}`, 2);
    default:
      return say(err, `pyci: unknown command "${command}"\n\n${USAGE}\n\n${RUN_USAGE}`, 2);
  }
}

function say(to: Output, text: string, code: number): number {
  to.write(`${text}\n`);
  return code;
}

function version(): string {
  return `pyci ${(JSON.parse(readFileSync(packageFile("package.json"), "utf8")) as { version: string }).version}`;
}

if (isMain(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => {
      if (code !== undefined) process.exit(code);
    },
    (error: unknown) => {
      process.stderr.write(`pyci: ${(error as Error).stack ?? String(error)}\n`);
      process.exit(2);
    },
  );
}
