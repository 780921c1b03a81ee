import { join } from "node:path";
import { isBuildId } from "./build-id.js";

/** Step names are plain words ("test", "docs-html"): never a path. */
const STEP_PATTERN = /^[a-z][a-z0-9_-]{0,63}$/;

export function isStepName(value: string): boolean {
  return STEP_PATTERN.test(value);
}

/** CI_DATA_DIR/logs/<id>: a build's step logs, one <step>.log each. */
export function logDir(dataDir: string, id: string): string {
  if (!isBuildId(id)) throw new Error(`Not a build id: ${JSON.stringify(id)}`);
  return join(dataDir, "logs", id);
}

export function logPath(dataDir: string, id: string, step: string): string {
  if (!isStepName(step)) throw new Error(`Not a step name: ${JSON.stringify(step)}`);
  return join(logDir(dataDir, id), `${step}.log`);
}

/** CI_DATA_DIR/artifacts/<id>: files a build keeps (the docs archive). */
export function artifactDir(dataDir: string, id: string): string {
  if (!isBuildId(id)) throw new Error(`Not a build id: ${JSON.stringify(id)}`);
  return join(dataDir, "artifacts", id);
}

/**
 * Every directory under CI_DATA_DIR that belongs to one build, removed with
 * it by retention: its logs, its artifacts, and builds/<id> (where the store
 * kept build.json and logs before it moved to SQLite).
 */
export function buildDataDirs(dataDir: string, id: string): string[] {
  return [logDir(dataDir, id), artifactDir(dataDir, id), join(dataDir, "builds", id)];
}
