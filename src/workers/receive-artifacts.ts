import { randomBytes } from "node:crypto";
import { appendFile, mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { BuildSinks } from "../builds/build-executor.js";
import type { Artifact, StepResult } from "../pipeline/types.js";

/** The server's end of sendArtifact: files rebuilt from a build's stream and handed to its sinks to keep. */
export interface ReceivedArtifacts {
  chunk(name: string, base64: string): Promise<void>;
  /** The file is whole (or could not be sent: `error`): the sinks keep it. */
  end(name: string, contentType: string, error?: string): Promise<void>;
  /** The results with each artifact the worker named as the server keeps it. */
  rename(results: StepResult[]): StepResult[];
  /** Forgets everything received (the build starts over) and removes the spooled files. */
  clear(): Promise<void>;
}

/**
 * Spools each file in `spoolDir` (under CI_DATA_DIR, private to pyci) until its end comes,
 * then hands it to `sinks.keepArtifact`, which copies it where the build's files are kept.
 * A file that could not be sent is handed over at a path that does not exist, so the sinks
 * learn why it is missing as for a local build.
 */
export function receiveArtifacts(spoolDir: string, buildId: string, sinks: BuildSinks): ReceivedArtifacts {
  const spooled = new Map<string, string>();
  const kept = new Map<string, Artifact>();
  const pathOf = async (name: string) => {
    let path = spooled.get(name);
    if (!path) {
      await mkdir(spoolDir, { recursive: true, mode: 0o700 });
      path = join(spoolDir, `${buildId}-${randomBytes(6).toString("hex")}`);
      spooled.set(name, path);
    }
    return path;
  };
  return {
    async chunk(name, base64) {
      await appendFile(await pathOf(name), Buffer.from(base64, "base64"), { mode: 0o600 });
    },
    async end(name, contentType, error) {
      const path = error ? join(spoolDir, `${buildId}-missing`) : await pathOf(name);
      kept.set(name, await sinks.keepArtifact({ name, contentType, path }));
      spooled.delete(name);
      await rm(path, { force: true });
    },
    rename: (results) =>
      results.map((result) =>
        result.artifacts
          ? Object.assign(result, { artifacts: result.artifacts.map((a) => kept.get(a.name) ?? a) })
          : result,
      ),
    async clear() {
      kept.clear();
      await Promise.all([...spooled.values()].map((path) => rm(path, { force: true })));
      spooled.clear();
    },
  };
}
