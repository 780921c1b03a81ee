const SIGNALS = ["SIGINT", "SIGTERM"] as const;
const EXIT_CODES: Record<(typeof SIGNALS)[number], number> = { SIGINT: 130, SIGTERM: 143 };

export interface SignalAbort {
  /** Aborted at the first SIGINT or SIGTERM. */
  signal: AbortSignal;
  /** The signal that came, if one did. */
  received(): NodeJS.Signals | undefined;
  /** The exit status a shell gives a process ended by that signal (130, 143). */
  exitCode(): number;
  /** Gives SIGINT and SIGTERM back to their default (the process ends at once). */
  dispose(): void;
}

/**
 * A foreground command that stops cleanly when interrupted: the first
 * SIGINT or SIGTERM aborts `signal` (the caller's processes are stopped
 * and its files removed as it unwinds); a second one ends the process at
 * once, with what it left for the next run to sweep.
 */
export function abortOnSignals(): SignalAbort {
  const controller = new AbortController();
  let received: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (received) process.exit(EXIT_CODES[received as (typeof SIGNALS)[number]]);
    received = signal;
    controller.abort(new Error(`interrupted by ${signal}`));
  };
  for (const signal of SIGNALS) process.on(signal, onSignal);
  return {
    signal: controller.signal,
    received: () => received,
    exitCode: () => (received ? EXIT_CODES[received as (typeof SIGNALS)[number]] : 0),
    dispose: () => {
      for (const signal of SIGNALS) process.removeListener(signal, onSignal);
    },
  };
}
