import { createHash, randomUUID } from "node:crypto";
import { copyFile, mkdir, readFile, rename, rm, stat, utimes, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import type { Artifact, StepCache, StepResult } from "./types.js";
import type { LogSink } from "../model/log-sink.js";

export const RESULTS = "results";
/** Bumped when what is stored, or how a key is made, changes: older entries are then never hit. */
const FORMAT = 1;
/** A step's log kept with its result, to be shown again on a hit; longer logs keep their tail. */
const LOG_LIMIT = 1024 * 1024;

interface Entry {
  format: number;
  step: string;
  buildId: string;
  createdAt: string;
  /** The result without its duration; artifacts as file names inside the entry. */
  result: Omit<StepResult, "durationMs" | "artifacts"> & {
    artifacts?: { name: string; file: string; contentType: string }[];
  };
  log: string;
}

export interface CachedResult {
  /** The stored result, durationMs 0, artifacts copied into the scratch dir. */
  result: StepResult;
  /** The build that produced it, and when. */
  buildId: string;
  createdAt: string;
  /** Its step's log. */
  log: string;
}

/**
 * The key of a step's result: a hash of the step, the repository, the git
 * tree of the checkout, and `inputs` — everything else that changes the
 * result (tool versions, configuration, the Python environment). Object keys
 * are sorted, so the order they were written in does not matter.
 */
export function resultKey(cache: StepCache, step: string, inputs: unknown): string {
  const material = stableJson({ format: FORMAT, step, scope: cache.scope, tree: cache.tree, inputs });
  return createHash("sha256").update(material).digest("hex");
}

/**
 * The result stored under `key`, with its artifacts copied into
 * `scratchDir`; undefined when there is none or it cannot be read whole.
 * A hit makes the entry the most recently used.
 */
export async function readCachedResult(
  cache: StepCache,
  step: string,
  key: string,
  scratchDir: string,
): Promise<CachedResult | undefined> {
  const dir = join(cache.dir, RESULTS, key);
  try {
    const entry = JSON.parse(await readFile(join(dir, "result.json"), "utf8")) as Entry;
    if (entry.format !== FORMAT || entry.step !== step || entry.result?.name !== step) return undefined;
    const { artifacts: stored, ...rest } = entry.result;
    const artifacts: Artifact[] = [];
    for (const artifact of stored ?? []) {
      const path = join(scratchDir, artifact.file);
      await copyFile(join(dir, artifact.file), path);
      artifacts.push({ name: artifact.name, path, contentType: artifact.contentType });
    }
    const now = new Date();
    await utimes(join(dir, "result.json"), now, now).catch(() => undefined);
    const result: StepResult = { ...rest, durationMs: 0, ...(stored ? { artifacts } : {}) };
    return { result, buildId: entry.buildId, createdAt: entry.createdAt, log: entry.log };
  } catch {
    return undefined;
  }
}

/**
 * Stores a step's result (and copies of its artifacts) under `key`,
 * atomically: written in a temporary directory, then renamed into place.
 * When another build stored the same key first, theirs stays. Never throws:
 * a result that cannot be cached is only not cached.
 */
export async function writeCachedResult(
  cache: StepCache,
  key: string,
  result: StepResult,
  log: string,
): Promise<boolean> {
  const root = join(cache.dir, RESULTS);
  const temp = join(root, `.tmp-${randomUUID()}`);
  try {
    await mkdir(temp, { recursive: true });
    const { durationMs: _duration, artifacts, ...rest } = result;
    const stored: Entry["result"] = { ...rest };
    if (artifacts) {
      stored.artifacts = [];
      for (const artifact of artifacts) {
        const file = basename(artifact.path);
        if (file === "result.json" || stored.artifacts.some((a) => a.file === file)) return false;
        await copyFile(artifact.path, join(temp, file));
        stored.artifacts.push({ name: artifact.name, file, contentType: artifact.contentType });
      }
    }
    const entry: Entry = {
      format: FORMAT,
      step: result.name,
      buildId: cache.buildId,
      createdAt: new Date().toISOString(),
      result: stored,
      log,
    };
    await writeFile(join(temp, "result.json"), JSON.stringify(entry));
    try {
      await rename(temp, join(root, key));
    } catch {
      return false; // stored by another build in the meantime
    }
    return true;
  } catch {
    return false;
  } finally {
    await rm(temp, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** When an entry was last stored or hit, for eviction. */
export async function resultLastUsed(entryDir: string): Promise<number> {
  const info =
    (await stat(join(entryDir, "result.json")).catch(() => undefined)) ?? (await stat(entryDir).catch(() => undefined));
  return info?.mtimeMs ?? 0;
}

/** A log that keeps a copy of what is written to it (for the result cache); a long one, its tail. */
export function recordingLog(log: LogSink): LogSink & { text(): string } {
  let parts: string[] = [];
  let size = 0;
  let dropped = 0;
  const trim = () => {
    const joined = parts.join("");
    const keep = joined.slice(-LOG_LIMIT);
    dropped += joined.length - keep.length;
    parts = [keep];
    size = keep.length;
  };
  return {
    write(text) {
      log.write(text);
      parts.push(text);
      size += text.length;
      if (size > 2 * LOG_LIMIT) trim();
    },
    text() {
      if (size > LOG_LIMIT) trim();
      const kept = parts.join("");
      return dropped === 0 ? kept : `[… the first ${dropped} characters of this log were not kept]\n${kept}`;
    },
  };
}

/** What a cache hit writes to the step's log: where the result comes from, then the log of that run. */
export function replayCachedLog(log: LogSink, cached: CachedResult, what: string): void {
  log.write(`[pyci: cached result from build ${cached.buildId} of ${cached.createdAt}: ${what}]\n`);
  log.write(cached.log.endsWith("\n") || cached.log === "" ? cached.log : `${cached.log}\n`);
  log.write("[pyci: end of the cached output]\n");
}

function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === "object" && !Array.isArray(v)) {
      return Object.fromEntries(
        Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
      );
    }
    return v;
  });
}
