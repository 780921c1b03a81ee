import { readCachedResult, recordingLog, replayCachedLog, resultKey, writeCachedResult } from "./result-cache.js";
import type { StepContext, StepResult } from "./types.js";

export interface Reusable {
  step: string;
  /**
   * Everything besides the tree that changes the step's result (tool
   * versions, configuration, the Python environment); undefined when it
   * cannot be known, and then the step runs and nothing is stored.
   */
  inputs(): Promise<unknown>;
  /** For the log of a hit: what was the same, e.g. "same tree, pyright 1.1.414, configuration and Python packages". */
  same: string;
  /** The step itself. */
  run(ctx: StepContext): Promise<StepResult>;
}

/**
 * Runs a step through the result cache (ctx.cache): the result of an
 * earlier build with the same key is reused, its log shown again under a
 * line that names that build; otherwise the step runs, and a `success` or
 * `failure` is stored (an `error` is pyci's trouble, and a `skipped` costs
 * nothing: neither is). Without ctx.cache the step just runs.
 */
export async function reuseResult(ctx: StepContext, reusable: Reusable): Promise<StepResult> {
  const cache = ctx.cache;
  if (!cache) return reusable.run(ctx);
  const started = performance.now();
  const inputs = await reusable.inputs().catch(() => undefined);
  if (inputs === undefined) return reusable.run(ctx);
  const key = resultKey(cache, reusable.step, inputs);
  const hit = await readCachedResult(cache, reusable.step, key, ctx.scratchDir);
  if (hit) {
    replayCachedLog(ctx.log, hit, reusable.same);
    return {
      ...hit.result,
      durationMs: Math.round(performance.now() - started),
      reused: { buildId: hit.buildId, createdAt: hit.createdAt },
    };
  }
  const log = recordingLog(ctx.log);
  const result = await reusable.run({ ...ctx, log });
  if (result.state === "success" || result.state === "failure") await writeCachedResult(cache, key, result, log.text());
  return result;
}
