import { run } from "../exec.js";

export interface DiskWatch {
  /** Ends the watch (and a measurement under way); `onExceeded` is not called after it. */
  stop(): void;
  /** The disk used under the directories at the last measurement (0 before the first). */
  usedBytes(): number;
}

/** A measurement may take this long (a huge tree on a slow disk) before it is given up and tried again. */
const MEASURE_TIMEOUT_MS = 120_000;
/** du runs at most 1/20 of the time: on a big tree the interval grows with what a measurement costs. */
const DUTY = 20;

/**
 * Watches what a build writes to disk, where nothing else bounds it (the checkout and the scratch
 * dir with TMPDIR live on the host's disk): measures the disk used under `dirs` every `intervalMs`
 * (or longer, see DUTY) and calls `onExceeded` once, then stops, when it passes `limitBytes`. The
 * first measurement starts at once. It is `du -skx` (coreutils or busybox) run as pyci's own process: blocks in
 * use, not apparent sizes (a sparse file costs what it holds); symlinks are not followed, other
 * file systems not entered, a file linked twice is counted once. Measured here on a 9,129-file
 * venv (86 MiB): ~34 ms for du (20 ms of it system time) and ~1 ms of the server's CPU to start
 * it through the spawn helper; an lstat walk inside node cost the server ~200 ms of CPU instead.
 *
 * What it cannot see: a file the build unlinked while keeping it open, and what is written
 * between two measurements (at 1 GB/s, 2 GB in the default 2 s); the host's free disk is the
 * bound there.
 */
export function watchDisk(
  dirs: string[],
  limitBytes: number,
  onExceeded: (usedBytes: number) => void,
  intervalMs = 2_000,
): DiskWatch {
  const stopping = new AbortController();
  let used = 0;
  let timer: NodeJS.Timeout | undefined;

  const measure = async () => {
    const started = performance.now();
    const measured = await diskUsed(dirs, stopping.signal);
    if (stopping.signal.aborted) return;
    if (measured !== undefined) used = measured;
    if (used > limitBytes) {
      stopping.abort();
      onExceeded(used);
      return;
    }
    timer = setTimeout(measureAgain, Math.max(intervalMs, DUTY * (performance.now() - started)));
    timer.unref();
  };
  const measureAgain = () => void measure();
  measureAgain();

  return {
    stop() {
      stopping.abort();
      clearTimeout(timer);
    },
    usedBytes: () => used,
  };
}

/** `du -skx` over the directories, in bytes; undefined when it printed nothing (not started, stopped). */
async function diskUsed(dirs: string[], signal: AbortSignal): Promise<number | undefined> {
  try {
    const result = await run({
      cmd: "du",
      args: ["-skx", "--", ...dirs],
      cwd: "/",
      env: { PATH: "/usr/bin:/bin", LC_ALL: "C" },
      timeoutMs: MEASURE_TIMEOUT_MS,
      captureStdout: true,
      trusted: true,
      signal,
    });
    if (!result.stdout) return undefined;
    // du exits 1 when a file vanished under it (pip at work) or a directory is not there yet; what it printed still counts
    const kib = result.stdout.split("\n").reduce((sum, line) => sum + (Number(/^(\d+)\t/.exec(line)?.[1]) || 0), 0);
    return kib * 1024;
  } catch {
    return undefined; // the spawn helper went away meanwhile: the next measurement starts another
  }
}
