import { randomUUID } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { sandboxCommand } from "./sandbox/sandbox-command.js";
import { pathKind } from "./sandbox/sandbox-path-kind.js";
import { startChild } from "./start-child.js";
import type { LogSink } from "../model/log-sink.js";
import type { Sandbox } from "./sandbox/sandbox.js";

/**
 * The only place pyci runs processes (started by start-child.ts). A non-zero exit is a result, not an
 * exception. Every process runs in its own process group, and carries a
 * marker of its run in its environment, so that a timeout, a cancellation
 * or the end of the run kills the whole tree: grandchildren, processes that
 * ignore SIGTERM, and daemons that left the group (setsid) included. The
 * environment is exactly what the caller passes (nothing is inherited), and
 * a sandbox, when given, confines the process (see sandboxCommand).
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
  /** Past this much captured stdout the process is killed and `outputCapExceeded` set (default 64 MiB). */
  maxCaptureBytes?: number;
  signal?: AbortSignal;
  /** Confines the process (the code under test and the tools that read it); absent or "off": not confined. */
  sandbox?: Sandbox;
  /**
   * pyci's own tool that starts no processes meant to outlive it (git): when it ends, its process group is
   * killed without looking through every process for the run's marker (a few ms of the server's CPU per
   * command). A timeout or a cancellation still looks. Never for a command that can run the code under test.
   */
  trusted?: boolean;
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
  /** Set when captured stdout passed maxCaptureBytes: the process was killed, `stdout` holds the head. */
  outputCapExceeded?: boolean;
}

const KILL_GRACE_MS = 2_000;
const MAX_CAPTURE_BYTES = 64 * 1024 * 1024;
/** The environment variable that marks every process of one run, for the kill that follows escapees. */
export const RUN_MARKER = "PYCI_RUN";

export async function run(options: RunOptions): Promise<RunResult> {
  const started = performance.now();
  const marker = randomUUID();
  const confined = options.sandbox
    ? sandboxCommand(options.sandbox, { cmd: options.cmd, args: options.args }, options.cwd, pathKind)
    : options;
  const command = options.sandbox?.limits ? options.sandbox.limits.wrap(confined) : confined;

  let timedOut = false;
  let cancelled = false;
  let outputCapExceeded = false;
  let pid: number | undefined;
  const kill = (signal: NodeJS.Signals) => {
    killTree(pid, signal);
    killMarked(marker, signal);
  };
  const stop = (why: "timeout" | "cancel") => {
    if (why === "timeout") timedOut = true;
    else cancelled = true;
    kill("SIGTERM");
    setTimeout(() => kill("SIGKILL"), KILL_GRACE_MS).unref();
  };

  // Output is streamed, never buffered whole: the log caps what it stores;
  // captured stdout (JSON) is capped here.
  const stdoutChunks: string[] = [];
  let captured = 0;
  const maxCapture = options.maxCaptureBytes ?? MAX_CAPTURE_BYTES;
  const child = await startChild(
    { cmd: command.cmd, args: command.args, cwd: options.cwd, env: { ...options.env, [RUN_MARKER]: marker } },
    {
      started: (startedPid) => (pid = startedPid),
      stdout(chunk) {
        if (!options.captureStdout) return options.log?.write(chunk);
        if (outputCapExceeded) return;
        captured += Buffer.byteLength(chunk);
        if (captured <= maxCapture) return void stdoutChunks.push(chunk);
        outputCapExceeded = true;
        options.log?.write(
          `\n[pyci: ${options.cmd} printed more than ${maxCapture} bytes of output to be read; stopped it]\n`,
        );
        kill("SIGKILL");
      },
      stderr: (chunk) => options.log?.write(chunk),
      // When the leader exits, whatever it left behind in its group goes too;
      // otherwise a daemonised grandchild could hold the pipes open forever.
      exit: () => (options.trusted && !timedOut && !cancelled ? killTree(pid, "SIGKILL") : kill("SIGKILL")),
    },
  );

  const timer = setTimeout(() => stop("timeout"), options.timeoutMs);
  timer.unref();
  const onAbort = () => stop("cancel");
  options.signal?.addEventListener("abort", onAbort, { once: true });
  if (options.signal?.aborted) onAbort();

  try {
    const result = await child.done;
    const spawnError = result.spawnError && !timedOut && !cancelled ? result.spawnError : undefined;
    return {
      exitCode: result.exitCode,
      signal: result.signal,
      timedOut,
      cancelled,
      durationMs: Math.round(performance.now() - started),
      stdout: stdoutChunks.join(""),
      ...(spawnError ? { spawnError } : {}),
      ...(outputCapExceeded ? { outputCapExceeded } : {}),
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

/**
 * Signals every process whose environment carries the run's marker: those
 * that left the process group (setsid, daemons) but not the run. Linux
 * (/proc); elsewhere the process group is all there is. A process that
 * clears its environment and re-executes escapes this; bwrap's pid namespace
 * does not let it.
 */
function killMarked(marker: string, signal: NodeJS.Signals): void {
  const needle = Buffer.from(`${RUN_MARKER}=${marker}\0`);
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (!readFileSync(`/proc/${entry}/environ`).includes(needle)) continue;
      process.kill(Number(entry), signal);
    } catch {
      // gone, or not ours to read or signal
    }
  }
}
