import type { Server, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { formatDuration } from "../report/summary-markdown.js";
import { isStepName } from "../store/build-files.js";
import { UNFINISHED_STATES } from "../store/build-record.js";
import type { BuildRecord, BuildStore } from "../store/build-store.js";
import { drained } from "./drained.js";

/** A comment line this often keeps proxies from closing a quiet stream. */
export const HEARTBEAT_MS = 15_000;
/** How often a stream checks whether to send a heartbeat, or to end because the server is closing. */
const TICK_MS = 1000;
/** At most this many bytes of a log per `log` event. */
export const EVENT_LOG_BYTES = 64 * 1024;

export type LiveStore = Pick<BuildStore, "subscribe" | "get" | "logSteps" | "readLogRange">;

export interface LiveEventsOptions {
  /** How many bytes of each step's log the client already has (steps left out: none). */
  positions: Map<string, number>;
  heartbeatMs?: number;
  log?: { error(obj: object, msg: string): void };
}

/** What a `build` event carries: the build's state and a summary of each finished step. */
export interface BuildSummary {
  state: string;
  error?: string;
  startedAt?: string;
  finishedAt?: string;
  steps: { name: string; state: string; summary: string; durationMs: number; duration: string }[];
}

/**
 * Server-Sent Events of a build, on a response whose request was checked:
 *   event: log    id: <positions>  data: {"step","start","end","text"}   bytes [start, end) of a step's log
 *   event: build                   data: BuildSummary                    after each save of the build
 *   event: end                     data: {"state"}                       the build ended; the stream closes
 * plus a heartbeat comment after heartbeatMs without an event.
 *
 * The log files are the source of truth; store events only say which step
 * has more. Each log is sent from the client's position (the page's, or the
 * Last-Event-ID of a reconnection, which holds every step's position) to its
 * end, in pieces of EVENT_LOG_BYTES, one piece at a time: a slow client holds
 * back only its own reads, never buffers of the build's output, and after a
 * reconnection it misses nothing and gets nothing twice.
 * Ends after `end`, when the client goes away, when the HTTP server closes, or on a failure (logged);
 * unsubscribes in every case. Never rejects.
 */
export async function streamBuildEvents(
  store: LiveStore,
  id: string,
  res: ServerResponse,
  options: LiveEventsOptions,
): Promise<void> {
  const sent = new Map(options.positions);
  const dirty = new Set<string>();
  let latest: BuildRecord | undefined;
  let closed = false;
  let wake: (() => void) | undefined;
  const poke = () => {
    const resume = wake;
    wake = undefined;
    resume?.();
  };

  const unsubscribe = store.subscribe(id, (event) => {
    if (event.type === "log") dirty.add(event.step);
    else latest = event.record;
    poke();
  });
  const onClose = () => {
    closed = true;
    poke();
  };
  res.on("close", onClose);
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-store",
    "x-accel-buffering": "no",
    "x-content-type-options": "nosniff",
  });
  res.write("retry: 2000\n\n");
  let lastWrite = Date.now();
  // the HTTP server waits for open streams when it closes (Probot on SIGINT): leave as soon as it stops listening
  const server = (res.socket as (Socket & { server?: Server }) | null)?.server;
  const heartbeatMs = options.heartbeatMs ?? HEARTBEAT_MS;
  const ticker = setInterval(
    () => {
      if (server?.listening === false) onClose();
      else if (!closed && !res.writableNeedDrain && Date.now() - lastWrite >= heartbeatMs) {
        res.write(": heartbeat\n\n");
        lastWrite = Date.now();
      }
    },
    Math.min(heartbeatMs, TICK_MS),
  ).unref();

  const send = async (event: string, data: unknown, eventId?: string): Promise<void> => {
    lastWrite = Date.now();
    if (closed || res.write(`event: ${event}\n${eventId ? `id: ${eventId}\n` : ""}data: ${JSON.stringify(data)}\n\n`))
      return;
    await drained(res);
  };

  const sendLog = async (step: string): Promise<void> => {
    while (!closed) {
      const from = sent.get(step) ?? 0;
      const chunk = await store.readLogRange(id, step, { start: from, end: from + EVENT_LOG_BYTES });
      if (!chunk || chunk.end <= from || closed) return;
      sent.set(step, chunk.end);
      await send("log", { step, start: chunk.start, end: chunk.end, text: chunk.text }, formatPositions(sent));
      if (chunk.end >= chunk.size) return;
    }
  };

  const sendLogs = async (steps: Iterable<string>): Promise<void> => {
    for (const step of steps) {
      dirty.delete(step);
      await sendLog(step);
    }
  };

  try {
    // 1. what was written before: each log past the client's position, and the build as it is
    const existing = await store.logSteps(id);
    for (const { step, size } of existing) sent.set(step, Math.min(sent.get(step) ?? 0, size));
    await sendLogs(existing.map((l) => l.step));
    latest = store.get(id);
    if (!latest) return;

    // 2. then every change, until the build ends or the client leaves
    while (!closed) {
      // a pass over the logs with news, then the build if it changed: a busy log does not hold back states
      await sendLogs([...dirty]);
      const record = latest;
      latest = undefined;
      if (!record) {
        if (dirty.size === 0 && !closed) await new Promise<void>((resolve) => (wake = resolve));
        continue;
      }
      const finished = !UNFINISHED_STATES.includes(record.state);
      // the final save comes after every log is closed: send all of it before saying so
      if (finished) await sendLogs((await store.logSteps(id)).map((l) => l.step));
      await send("build", buildSummary(record));
      if (finished) {
        await send("end", { state: record.state });
        return;
      }
    }
  } catch (error) {
    options.log?.error(
      { err: error, buildId: id },
      "could not stream a build's events; the page can still be reloaded",
    );
  } finally {
    clearInterval(ticker);
    unsubscribe();
    res.off("close", onClose);
    res.end();
  }
}

export function buildSummary(record: BuildRecord): BuildSummary {
  return {
    state: record.state,
    ...(record.error !== undefined ? { error: record.error } : {}),
    ...(record.startedAt !== undefined ? { startedAt: record.startedAt } : {}),
    ...(record.finishedAt !== undefined ? { finishedAt: record.finishedAt } : {}),
    steps: record.steps.map((s) => ({
      name: s.name,
      state: s.state,
      summary: s.summary,
      durationMs: s.durationMs,
      duration: formatDuration(s.durationMs),
    })),
  };
}

/** "checkout:1234,test:56": each step's byte position, as the events' ids carry them. */
export function formatPositions(positions: Map<string, number>): string {
  return [...positions].map(([step, at]) => `${step}:${at}`).join(",");
}

/** The positions of formatPositions (or of the page's `?at=`); anything malformed is left out. */
export function parsePositions(value: string | undefined): Map<string, number> {
  const positions = new Map<string, number>();
  for (const part of (value ?? "").split(",").slice(0, 64)) {
    const match = /^([a-z][a-z0-9_-]*):(\d{1,15})$/.exec(part);
    if (match && isStepName(match[1]!)) positions.set(match[1]!, Number(match[2]));
  }
  return positions;
}
