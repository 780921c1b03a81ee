import { rmSync } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { isBuildId } from "./build-id.js";
import { isStepName, logDir, logPath } from "./build-files.js";
import { readLogRange, type LogChunk, type LogRange } from "./read-log-range.js";

/* A build's step logs, as files in CI_DATA_DIR/logs/<id>/<step>.log (BuildStore reads them through these). */

/** Removes every step log of a build (before it runs again). */
export function removeStepLogs(dataDir: string, id: string): void {
  if (!isBuildId(id)) return;
  rmSync(logDir(dataDir, id), { recursive: true, force: true });
}

/** Removes one step's log (a step that will be reported again from its start). */
export function removeStepLog(dataDir: string, id: string, step: string): void {
  if (!isBuildId(id) || !isStepName(step)) return;
  rmSync(logPath(dataDir, id, step), { force: true });
}

/** The whole stored log of a step, or undefined when it has none. */
export async function readStepLog(dataDir: string, id: string, step: string): Promise<string | undefined> {
  if (!isBuildId(id) || !isStepName(step)) return undefined;
  try {
    return await readFile(logPath(dataDir, id, step), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/** Bytes [start, end) of a step's log (e.g. `{ start: -65536 }` for its tail) and its whole size; see LogChunk. */
export async function readStepLogRange(
  dataDir: string,
  id: string,
  step: string,
  range: LogRange = {},
): Promise<LogChunk | undefined> {
  if (!isBuildId(id) || !isStepName(step)) return undefined;
  return readLogRange(logPath(dataDir, id, step), range);
}

/** A step's log size in bytes, or undefined when it has none. */
export async function stepLogSize(dataDir: string, id: string, step: string): Promise<number | undefined> {
  if (!isBuildId(id) || !isStepName(step)) return undefined;
  try {
    return (await stat(logPath(dataDir, id, step))).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/** The steps that have a log, by name, with their sizes. */
export async function stepLogSizes(dataDir: string, id: string): Promise<{ step: string; size: number }[]> {
  if (!isBuildId(id)) return [];
  let names: string[];
  try {
    names = await readdir(logDir(dataDir, id));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  const steps = names
    .filter((n) => n.endsWith(".log") && isStepName(n.slice(0, -4)))
    .map((n) => n.slice(0, -4))
    .sort();
  return Promise.all(steps.map(async (step) => ({ step, size: (await stat(logPath(dataDir, id, step))).size })));
}
