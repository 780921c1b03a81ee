/** What starting a process takes and gives, whoever starts it (spawn-helper.ts, start-directly.ts). */

/** A process to start: exactly this environment, stdin from /dev/null, in a session of its own. */
export interface ChildRequest {
  cmd: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
}

/** What the caller hears, as it happens. */
export interface ChildListeners {
  /** Its pid, as soon as it is known (before any output or exit). */
  started(pid: number): void;
  stdout(text: string): void;
  stderr(text: string): void;
  /** The process itself ended (its output may still be coming, from what it left behind). */
  exit(): void;
}

export interface ChildOutcome {
  exitCode: number | null;
  signal: string | null;
  /** It could not be started (the command or its directory is missing, say). */
  spawnError?: string;
}

/** A started process: `pid` unless it could not start; `done` once it has exited and its output is closed. */
export interface StartedChild {
  pid: number | undefined;
  done: Promise<ChildOutcome>;
}
