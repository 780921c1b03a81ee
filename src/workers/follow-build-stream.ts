import type { Redis } from "ioredis";
import type { BuildSinks } from "../builds/build-executor.js";
import type { LogSink } from "../model/log-sink.js";
import type { StepResult } from "../pipeline/types.js";
import { buildStreamKey, decodeEvent, type BuildStreamEvent } from "./build-stream.js";
import { receiveArtifacts } from "./receive-artifacts.js";

export interface FollowOptions {
  /** A connection of its own: XREAD BLOCK holds it while it waits. Disconnected when the build ends. */
  redis: Redis;
  buildId: string;
  sinks: BuildSinks;
  /** The server's secrets, masked in every log line a worker sends (it should hold none of them). */
  mask: (text: string) => string;
  /** Tells who took the build (logged; the build page says so later). */
  onTaken(worker: string, attempt: number): void;
  /**
   * Asked whenever the stream stays quiet for a while: why the build's job can no longer send
   * anything (BullMQ failed it, e.g. stalled too often; it is gone from Redis), or undefined.
   */
  lost(): Promise<string | undefined>;
  /** The worker asks for a clone token, to be sent encrypted to `publicKey`. */
  onTokenRequest(publicKey: string): Promise<void>;
  /** Where files the worker sends wait until they are whole (a directory of the server's CI_DATA_DIR). */
  spoolDir: string;
  /** The id of the last entry applied by an earlier server process (BuildSinks.applied): read on after it. */
  from?: string;
  signal?: AbortSignal;
}

/** The build's job can send nothing more: no worker will finish the build. */
export class LostBuildError extends Error {}

/** How long one XREAD waits before it looks at the signal again. */
const BLOCK_MS = 1000;

/**
 * Reads a build's event stream from its start (or on after `from`) into the sinks (step starts,
 * logs, ends), until the worker says the build is done: its results. Each step end and restart is
 * told to `sinks.applied` with its entry's id first. Aborted (the server stops or the build is
 * stopped), it returns the results so far. Rejects when the worker could not run the build at
 * all, or with a LostBuildError when its job is lost (then no worker will ever say more).
 */
export async function followBuildStream(options: FollowOptions): Promise<StepResult[]> {
  const { redis, sinks, signal } = options;
  const key = buildStreamKey(options.buildId);
  const logs = new Map<string, LogSink & { close(): void }>();
  const ended: StepResult[] = [];
  const logOf = (step: string) => {
    let log = logs.get(step);
    if (!log) logs.set(step, (log = sinks.openLog(step, options.mask)));
    return log;
  };
  const artifacts = receiveArtifacts(options.spoolDir, options.buildId, sinks);
  // read on from a mark: a worker had taken the build before it
  let taken = options.from !== undefined;
  const apply = async (id: string, event: BuildStreamEvent): Promise<StepResult[] | undefined> => {
    switch (event.t) {
      case "taken":
        options.onTaken(event.worker, event.attempt);
        // a second "taken": the first worker was lost mid-build, what it said no longer counts
        if (taken) {
          sinks.applied?.(id);
          for (const log of logs.values()) log.close();
          logs.clear();
          ended.length = 0;
          await artifacts.clear();
          sinks.restart();
        }
        taken = true;
        return undefined;
      case "start":
        logOf(event.step);
        sinks.onStepStart?.(event.step);
        return undefined;
      case "log":
        logOf(event.step).write(event.text);
        return undefined;
      case "artifact-chunk":
        await artifacts.chunk(event.name, event.data);
        return undefined;
      case "artifact-end":
        await artifacts.end(event.name, event.contentType, event.error);
        return undefined;
      case "token-request":
        await options.onTokenRequest(event.publicKey);
        return undefined;
      case "end":
        logs.get(event.result.name)?.close();
        logs.delete(event.result.name);
        ended.push(event.result);
        sinks.applied?.(id);
        sinks.onStepEnd(event.result);
        return undefined;
      case "done":
        // the very results the sinks were given: the caller tells a step it has from a new one by identity
        return artifacts.rename(
          event.results.map((result) => ended.find((step) => step.name === result.name) ?? result),
        );
      case "failed":
        throw new Error(event.message);
    }
  };
  try {
    let lastId = options.from ?? "0";
    while (!signal?.aborted) {
      const reply = await redis.xread("BLOCK", BLOCK_MS, "STREAMS", key, lastId);
      // stopped meanwhile: what the stream says now (its job removed, a worker's last words) is not this build's end
      if (signal?.aborted) break;
      const lost = reply ? undefined : await options.lost();
      if (lost) throw new LostBuildError(lost);
      for (const [, entries] of reply ?? []) {
        for (const [id, fields] of entries) {
          lastId = id;
          const event = decodeEvent(fields);
          const results = event && (await apply(id, event));
          if (results) return results;
        }
      }
    }
    return ended;
  } finally {
    for (const log of logs.values()) log.close();
    await artifacts.clear();
  }
}
