import type { StepResult } from "../pipeline/types.js";

/**
 * What a worker tells the server about a build, in order, as entries of one Redis stream per
 * build (`buildStreamKey`), each entry one field `e` holding the event as JSON. A stream keeps
 * its entries: a server that restarts reads it again from the start (or from the last id it
 * applied), so nothing a worker said while the server was away is lost.
 */
export type BuildStreamEvent =
  /** A worker took the build; `attempt` counts from 1 (BullMQ hands a stalled job to another worker). */
  | { t: "taken"; worker: string; attempt: number }
  | { t: "start"; step: string }
  /** Console output of a step, masked of the worker's secrets. */
  | { t: "log"; step: string; text: string }
  /** The worker needs a token to clone over HTTPS: the server sends it encrypted to this key (clone-token-exchange.ts). */
  | { t: "token-request"; publicKey: string }
  | { t: "end"; result: StepResult }
  /** A piece of a file a step made (the docs archive), in order; `data` is base64. */
  | { t: "artifact-chunk"; name: string; data: string }
  /** The whole file was sent (or why it could not be: `error`): the server keeps it under `name`. */
  | { t: "artifact-end"; name: string; contentType: string; error?: string }
  /** The pipeline's results: the build is over on the worker. */
  | { t: "done"; results: StepResult[] }
  /** The worker could not run the build at all (a crash of pyci, not of the build's code). */
  | { t: "failed"; message: string };

/**
 * How long a build's stream stays in Redis once its worker is done with it (the worker sets it):
 * long enough for a server that was away to read it again.
 */
export const STREAM_TTL_SECONDS = 24 * 3600;

export function buildStreamKey(buildId: string): string {
  return `pyci:build-events:${buildId}`;
}

/** The stream entry's field/value pairs for one event. */
export function encodeEvent(event: BuildStreamEvent): [string, string] {
  return ["e", JSON.stringify(event)];
}

/** An entry's event, or undefined for an entry pyci did not write (it is skipped). */
export function decodeEvent(fields: string[]): BuildStreamEvent | undefined {
  const at = fields.indexOf("e");
  if (at < 0 || at % 2 !== 0) return undefined;
  try {
    const event = JSON.parse(fields[at + 1] ?? "") as BuildStreamEvent;
    return typeof event === "object" && event !== null && typeof event.t === "string" ? event : undefined;
  } catch {
    return undefined;
  }
}

/** Workers listen here for builds the server stops (superseded or cancelled): the message is the build id. */
export const CANCEL_CHANNEL = "pyci:cancel";
