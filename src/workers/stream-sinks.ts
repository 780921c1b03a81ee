import type { Redis } from "ioredis";
import type { Logger } from "probot";
import type { BuildSinks } from "../builds/build-executor.js";
import { buildStreamKey, encodeEvent, type BuildStreamEvent } from "./build-stream.js";
import { STEP_LOG_CAP_BYTES } from "../store/step-log.js";
import { cappedLog } from "./capped-log.js";
import { sendArtifact } from "./send-artifact.js";

/** What a worker sends of one step's output by default: twice the server's default CI_STEP_OUTPUT_CAP (capped-log.ts). */
export const WORKER_OUTPUT_CAP_BYTES = 2 * STEP_LOG_CAP_BYTES;

/** Sinks that send a build's events to its stream, and `send` for the rest; `flushed` waits for all sent so far. */
export interface StreamSinks extends BuildSinks {
  send(event: BuildStreamEvent): void;
  flushed(): Promise<void>;
}

/**
 * A worker's sinks: every step start, log chunk (masked of the worker's secrets; past
 * `outputCapBytes` only the tail, at the step's end), step end and
 * kept file becomes an entry of the build's stream as it happens, so the server's live page keeps up.
 * Entries are sent without waiting (one connection keeps their order); a failed XADD is logged.
 */
export function streamSinks(
  redis: Redis,
  buildId: string,
  worker: string,
  log: Logger,
  outputCapBytes = WORKER_OUTPUT_CAP_BYTES,
): StreamSinks {
  const key = buildStreamKey(buildId);
  let last: Promise<unknown> = Promise.resolve();
  const send = (event: BuildStreamEvent) => {
    last = redis
      .xadd(key, "*", ...encodeEvent(event))
      .catch((err: unknown) => log.error({ err, event: event.t }, "could not send a build event to Redis"));
  };
  return {
    send,
    flushed: async () => {
      await last;
    },
    openLog: (step, mask) => {
      const capped = cappedLog((text) => send({ t: "log", step, text }), outputCapBytes);
      return { write: (text) => capped.write(mask(text)), close: () => capped.close() };
    },
    onStepStart: (step) => send({ t: "start", step }),
    // the checkout says where the build ran: the page, the check run and the statuses name the worker
    onStepEnd: (result) => {
      if (result.name === "checkout") result.summary = `${result.summary} on ${worker}`;
      send({ t: "end", result });
    },
    // the file goes to the server; the results still name it by its path here (the server renames it)
    keepArtifact: async (artifact) => {
      await sendArtifact(artifact, send);
      return artifact;
    },
    // one job is one attempt: a build starts over only as another job attempt ("taken" again)
    restart: () => undefined,
  };
}
