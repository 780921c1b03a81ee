import { join, resolve } from "node:path";
import { run, RUN_MARKER } from "../process/exec.js";
import { sshControlOptions } from "./ssh-connections.js";
import type { LogSink } from "../model/log-sink.js";

/** Where and how to fetch the code. The token, if any, never reaches argv, a URL or a log. */
export type CloneSource =
  | {
      protocol: "ssh";
      url: string;
      sshKeyPath: string;
      knownHostsPath: string;
      /** Share one connection per host between fetches through control sockets in this directory (ssh-connections.ts). */
      controlDir?: string;
    }
  | { protocol: "https"; url: string; token?: string }
  | { protocol: "local"; url: string };

export class CheckoutError extends Error {
  override name = "CheckoutError";
}

/** git timed out, was cancelled or could not start: trying again elsewhere would not help. */
export class GitAbortedError extends CheckoutError {
  override name = "GitAbortedError";
}

export interface GitCommandOptions {
  /** The repository git runs in. */
  cwd: string;
  /** git's HOME goes here (git-home/). */
  scratchDir: string;
  source: CloneSource;
  log: LogSink;
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface GitCommand {
  /** Runs git; false on a non-zero exit when allowFailure, else a CheckoutError. */
  (args: string[], options?: { allowFailure?: boolean }): Promise<boolean>;
  /** Runs git and returns its stdout (not logged), or undefined on a non-zero exit. */
  output(args: string[]): Promise<string | undefined>;
}

/**
 * git with the source's credentials in its environment (gitEnv). Each
 * command is logged as `$ git …` with the source URL redacted; a timeout,
 * a cancellation or a git that cannot start is a CheckoutError.
 */
export function gitCommand(options: GitCommandOptions): GitCommand {
  const env = gitEnv(options.scratchDir, options.source);
  const exec = async (args: string[], capture: boolean) => {
    if (!capture) {
      const shown = args.map((arg) => (arg === options.source.url ? redactUrl(arg) : arg));
      options.log.write(`$ git ${shown.join(" ")}\n`);
    }
    const result = await run({
      cmd: "git",
      args,
      cwd: options.cwd,
      env,
      timeoutMs: options.timeoutMs,
      log: options.log,
      captureStdout: capture,
      // the checkout's .git is pyci's (no hooks, filters or fsmonitor of the repository's): git runs none of its code
      trusted: true,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (result.timedOut)
      throw new GitAbortedError(`git ${args[0]} timed out after ${Math.round(options.timeoutMs / 1000)}s`);
    if (result.cancelled) throw new GitAbortedError("Cancelled");
    if (result.spawnError) throw new GitAbortedError(`git could not be started: ${result.spawnError}`);
    return result;
  };
  const git = async (args: string[], opts: { allowFailure?: boolean } = {}) => {
    const result = await exec(args, false);
    if (result.exitCode === 0) return true;
    if (opts.allowFailure) return false;
    throw new CheckoutError(`git ${args[0]} failed with exit code ${result.exitCode}`);
  };
  return Object.assign(git, {
    output: async (args: string[]) => {
      const result = await exec(args, true);
      return result.exitCode === 0 ? result.stdout : undefined;
    },
  });
}

/** git's environment: credentials through git's config environment, never argv or the URL. */
export function gitEnv(scratchDir: string, source: CloneSource): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: join(scratchDir, "git-home"),
    LANG: "C.UTF-8",
    GIT_TERMINAL_PROMPT: "0",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
  };
  if (source.protocol === "ssh") {
    const ssh = [
      "ssh",
      ...sshOptions(source.sshKeyPath, source.knownHostsPath, shellQuote),
      ...(source.controlDir ? sshControlOptions(resolve(source.controlDir)).map(shellQuote) : []),
    ].join(" ");
    // A kept connection's ssh outlives the fetch that opened it (it leaves the process group): it must not
    // carry the run's marker (exec.ts kills what carries it when the fetch ends), nor hold on to the fetch's
    // directory (a checkout about to be removed).
    env.GIT_SSH_COMMAND = source.controlDir ? `unset ${RUN_MARKER}; cd / && exec ${ssh}` : ssh;
    // the command does not start with "ssh": say what it is, or git runs it once more with -G to find out
    env.GIT_SSH_VARIANT = "ssh";
  }
  if (source.protocol === "https" && source.token) {
    const basic = Buffer.from(`x-access-token:${source.token}`).toString("base64");
    env.GIT_CONFIG_COUNT = "1";
    env.GIT_CONFIG_KEY_0 = "http.extraHeader";
    env.GIT_CONFIG_VALUE_0 = `Authorization: Basic ${basic}`;
  }
  return env;
}

/** Drops any user:password@ from a URL before it is shown. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]*:[^@/]*@/i, "$1***@");
}

/**
 * The options of every SSH login to a git host: no config file, this key only, never a prompt, the host's
 * key checked against known_hosts. `quote` is applied to the two paths (for a shell command line).
 */
export function sshOptions(keyPath: string, knownHostsPath: string, quote = (path: string) => path): string[] {
  return [
    ...["-F", "/dev/null", "-i", quote(resolve(keyPath))],
    ...["-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes"],
    ...["-o", `UserKnownHostsFile=${quote(resolve(knownHostsPath))}`],
  ];
}

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
