import type { CodeSource } from "../../checkout/code-source.js";
import { CheckoutError, type Workspace } from "../../checkout/workspace.js";
import type { LogSink } from "../../model/log-sink.js";
import type { StepResult } from "../types.js";

/** What the checkout step works with: none of the repository's code has run yet, so there is no sandbox. */
export interface CheckoutContext {
  source: CodeSource;
  workspace: Workspace;
  log: LogSink;
  timeoutMs: number;
  signal?: AbortSignal;
}

/** The first step of every pipeline: brings the code into the workspace. */
export interface CheckoutStep {
  name: "checkout";
  run(ctx: CheckoutContext): Promise<StepResult>;
}

/**
 * The code from the build's source (checkout/code-source.ts): a fresh clone,
 * the Actions job's checkout, a copy of a working tree. Code that could not
 * be had is an `error` that says why (its words in the log too).
 */
export const checkoutStep: CheckoutStep = {
  name: "checkout",
  async run({ source, workspace, log, timeoutMs, signal }) {
    const started = performance.now();
    const durationMs = () => Math.round(performance.now() - started);
    try {
      const summary = await source.fetch(workspace, { log, timeoutMs, ...(signal ? { signal } : {}) });
      return { name: "checkout", state: "success", summary, exitCode: 0, durationMs: durationMs() };
    } catch (error) {
      const message = error instanceof CheckoutError ? error.message : `Checkout crashed: ${(error as Error).message}`;
      log.write(`${message}\n`);
      return {
        name: "checkout",
        state: "error",
        summary: `${source.failure}: ${message}`,
        exitCode: null,
        durationMs: durationMs(),
      };
    }
  },
};
