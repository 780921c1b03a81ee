import { readFileSync } from "node:fs";

/**
 * When process `pid` started, in clock ticks since boot (field 22 of
 * /proc/<pid>/stat), or undefined where that cannot be read (no /proc, the
 * process is gone). With the pid it names one process: a pid the kernel
 * hands out again later comes with another start time.
 */
export function processStartTime(pid: number): string | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // the command name (field 2) is in parentheses and may hold spaces or ")": count from the last ")"
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const start = fields[19];
  return start && /^\d+$/.test(start) ? start : undefined;
}
