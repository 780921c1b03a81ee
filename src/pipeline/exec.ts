import { execa } from "execa";
import type { LogSink } from "./types.js";

/**
 * The only place pyci spawns processes. A non-zero exit is a result, not an
 * exception. Every process runs in its own process group so that a timeout
 * or a cancellation kills the whole tree, grandchildren included, and the
 * environment is exactly what the caller passes (nothing is inherited).
 */
export interface RunOptions {
  cmd: string;
  args: string[];
  cwd: string;
  /** The complete environment of the process; the server's own is never inherited. */
  env: Record<string, string>;
  timeoutMs: number;
  /** Console output (stdout unless captured, and stderr) goes here as it arrives. */
  log?: LogSink;
  /** Return stdout as a string instead of streaming it to the log (e.g. JSON output). */
  captureStdout?: boolean;
  signal?: AbortSignal;
}

export interface RunResult {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  cancelled: boolean;
  durationMs: number;
  stdout: string;
  /** Set when the process could not be started at all (e.g. ENOENT). */
  spawnError?: string;
}

const KILL_GRACE_MS = 2_000;

export async function run(options: RunOptions): Promise<RunResult> {
  const started = performance.now();
  const subprocess = execa(options.cmd, options.args, {
    cwd: options.cwd,
    env: options.env,
    extendEnv: false,
    detached: true,
    reject: false,
    stdin: "ignore",
    buffer: false,
    cleanup: true,
    encoding: "utf8",
  });

  const stdoutChunks: string[] = [];
  subprocess.stdout?.setEncoding("utf8");
  subprocess.stderr?.setEncoding("utf8");
  subprocess.stdout?.on("data", (chunk: string) => {
    if (options.captureStdout) stdoutChunks.push(chunk);
    else options.log?.write(chunk);
  });
  subprocess.stderr?.on("data", (chunk: string) => options.log?.write(chunk));

  let timedOut = false;
  let cancelled = false;
  const pid = subprocess.pid;
  const stop = (why: "timeout" | "cancel") => {
    if (why === "timeout") timedOut = true;
    else cancelled = true;
    killTree(pid, "SIGTERM");
    setTimeout(() => killTree(pid, "SIGKILL"), KILL_GRACE_MS).unref();
  };
  const timer = setTimeout(() => stop("timeout"), options.timeoutMs);
  timer.unref();
  const onAbort = () => stop("cancel");
  options.signal?.addEventListener("abort", onAbort, { once: true });
  if (options.signal?.aborted) onAbort();
  // When the leader exits, whatever it left behind in its group goes too;
  // otherwise a daemonised grandchild could hold the pipes open forever.
  subprocess.on("exit", () => killTree(pid, "SIGKILL"));

  try {
    const result = await subprocess;
    const spawnError =
      result.failed && result.exitCode === undefined && !result.signal && !timedOut && !cancelled
        ? (result.cause instanceof Error ? result.cause.message : result.shortMessage)
        : undefined;
    return {
      exitCode: result.exitCode ?? null,
      signal: result.signal ?? null,
      timedOut,
      cancelled,
      durationMs: Math.round(performance.now() - started),
      stdout: stdoutChunks.join(""),
      ...(spawnError ? { spawnError } : {}),
    };
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
  }
}

function killTree(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}
