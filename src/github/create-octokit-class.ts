import Bottleneck from "bottleneck/light.js";
import { ProbotOctokit } from "probot";
import { fetchWithTimeout, type Fetch, type RequestTimeouts } from "./fetch-with-timeout.js";
import { WriteLimiter } from "./write-limiter.js";

/** A hung GitHub fails an attempt after this long; GitHub itself ends requests that take over 10 s. */
export const REQUEST_TIMEOUT_MS = 15_000;
export const UPLOAD_TIMEOUT_MS = 10 * 60_000;
/** 5xx, timeouts and unreachable: this many retries, after 1, 4 and 9 s (plugin-retry's quadratic backoff). */
export const SERVER_ERROR_RETRIES = 3;
/** Rate limited (403/429 that GitHub marks as such): this many retries, each after the wait GitHub asks for… */
export const RATE_LIMIT_RETRIES = 2;
/** …when that wait is at most this long; a longer one fails the request (pyci's outbox takes over). */
export const RATE_LIMIT_MAX_WAIT_S = 120;
/** Answers no retry changes; 403 and 429 are left to the rate-limit handling. */
const DO_NOT_RETRY = [400, 401, 403, 404, 410, 422, 429, 451];

export interface PyciOctokitOptions {
  /** Paces each installation's writes; default a WriteLimiter of 10 at once, then 1/s. */
  limiter?: WriteLimiter;
  timeouts?: Partial<RequestTimeouts>;
  retries?: number;
  /** The unit of both plugins' waits (default 1000: seconds); tests shrink it. */
  retryAfterBaseMs?: number;
}

/** The part of pino's logger the handlers use (Octokit's `log` is Probot's). */
interface WarnLog {
  warn(obj: object, msg: string): void;
}

type LimitOptions = { method: string; url: string };

/**
 * Probot's Octokit with pyci's request policy (pass it to Probot as `Octokit`):
 * - writes (POST/PATCH/PUT/DELETE) go out one at a time per installation, ten at
 *   once after a quiet spell, then one a second (see WriteLimiter), instead of
 *   plugin-throttling's fixed second between any two writes of an installation;
 *   a new build's `pending` statuses and check run go first, borrowing from the
 *   writes after them, so a push shows `pending` at once;
 *   installations never wait for each other;
 * - other requests go 10 at a time in the process (plugin-throttling's global group), except installation
 *   tokens and those opening writes, which skip Bottleneck's scheduling altogether (it yields to a 1 ms
 *   timer several times per request: ~20 ms of a new build's time to `pending`);
 * - 5xx, timeouts and network errors are retried 3 times with backoff (plugin-retry);
 * - rate limits (primary: x-ratelimit-remaining 0 until x-ratelimit-reset; secondary:
 *   Retry-After) are retried twice after GitHub's wait, when it is at most 2 minutes
 *   (plugin-throttling, whose handlers Probot leaves at "log, don't retry" for secondary limits);
 * - every attempt has a deadline (15 s; 10 min for uploads), so a hung GitHub
 *   cannot hold a build forever.
 * With REDIS_URL (Probot's clustered throttling), Probot's shared write pacing stays.
 */
export function createPyciOctokit(options: PyciOctokitOptions = {}) {
  const limiter = options.limiter ?? new WriteLimiter();
  const timeouts: RequestTimeouts = { requestMs: REQUEST_TIMEOUT_MS, uploadMs: UPLOAD_TIMEOUT_MS, ...options.timeouts };
  const baseMs = options.retryAfterBaseMs ?? 1000;
  const onLimit =
    (kind: "primary" | "secondary") =>
    (retryAfter: number, request: LimitOptions, octokit: { log: unknown }, retryCount: number) => {
      const retry = retryCount < RATE_LIMIT_RETRIES && retryAfter <= RATE_LIMIT_MAX_WAIT_S;
      (octokit.log as WarnLog).warn(
        { kind, method: request.method, route: request.url, retryAfter, retryCount },
        retry
          ? "GitHub rate limit hit; retrying after the wait GitHub asks for"
          : "GitHub rate limit hit; not retrying this request",
      );
      return retry;
    };

  const pacing = (
    octokit: { hook: { wrap: (name: "request", wrapper: Wrapper) => void } },
    octokitOptions: Record<string, unknown>,
  ) => {
    const key = installationKey(octokitOptions);
    octokit.hook.wrap("request", (request, route) =>
      isWrite(route) ? limiter.run(key, () => request(route), { opening: isOpening(route) }) : request(route),
    );
  };

  return ProbotOctokit.plugin(pacing as never).defaults((instance: Record<string, unknown> = {}) => {
    const throttle = (instance.throttle ?? {}) as Record<string, unknown>;
    const request = (instance.request ?? {}) as Record<string, unknown>;
    return {
      ...instance,
      throttle: {
        ...throttle,
        // the limiter above paces writes; clustered throttling keeps its shared groups
        ...(throttle.connection ? {} : { write: PASS_THROUGH_GROUP, global: GLOBAL_GROUP, auth: PASS_THROUGH_GROUP }),
        retryAfterBaseValue: baseMs,
        onRateLimit: onLimit("primary"),
        onSecondaryRateLimit: onLimit("secondary"),
      },
      retry: {
        retries: options.retries ?? SERVER_ERROR_RETRIES,
        doNotRetry: DO_NOT_RETRY,
        retryAfterBaseValue: baseMs,
        ...(instance.retry as object | undefined),
      },
      request: { ...request, fetch: fetchWithTimeout(request.fetch as Fetch | undefined, timeouts) },
    };
  });
}

/** The server's Octokit class: one write limiter for the whole process. */
export const PyciOctokit = createPyciOctokit();

type Route = { method?: string; url?: string; state?: unknown };
type Wrapper = (request: (route: Route) => Promise<unknown>, route: Route) => Promise<unknown>;

/**
 * A plugin-throttling group made pass-through: `key(id).schedule(options, fn, ...args)` calls `fn(...args)`
 * at once. For writes (the WriteLimiter paces them) and installation tokens (Bottleneck's local scheduling
 * yields to a 1 ms timer several times per job, and a new build waits for its token before anything shows).
 */
const PASS_THROUGH_GROUP = {
  key: () => ({
    schedule: (_options: unknown, fn: (...args: unknown[]) => Promise<unknown>, ...args: unknown[]) => fn(...args),
  }),
};

/** plugin-throttling's group for every request that is not a token (10 at once in the process), as the plugin makes it. */
const GLOBAL_LIMITERS = new Bottleneck.Group({ id: "octokit-global", maxConcurrent: 10, timeout: 2 * 60_000 });

/**
 * That group, except that a new build's opening writes (its `pending` statuses and check run) skip it, as
 * they skip the write pacing's queue: the time to `pending` is what a pusher waits on. Other requests
 * are held to 10 at once, as the plugin holds them.
 */
const GLOBAL_GROUP = {
  key: (id: string) => {
    const limiter = GLOBAL_LIMITERS.key(id);
    return {
      schedule: (options: Bottleneck.JobOptions, fn: (...args: unknown[]) => Promise<unknown>, ...args: unknown[]) =>
        isOpening(args[0] as Route) ? fn(...args) : limiter.schedule(options, () => fn(...args)),
    };
  },
};

/** Installation clients carry their installation id (Probot's factory); the app and token clients share one key. */
function installationKey(options: Record<string, unknown>): string {
  const auth = options.auth as { installationId?: unknown } | undefined;
  return auth?.installationId !== undefined ? `installation:${String(auth.installationId)}` : "app";
}

/** The first thing a new build shows on GitHub: a `pending` commit status, or a new check run. */
function isOpening(route: Route): boolean {
  if ((route.method ?? "").toUpperCase() !== "POST") return false;
  const { pathname } = new URL(route.url ?? "/", "http://github.test");
  return (/\/statuses\/[^/]+$/.test(pathname) && route.state === "pending") || /\/check-runs$/.test(pathname);
}

/** A request that changes something on GitHub, except minting tokens (which a write of the installation may be waiting for). */
function isWrite(route: Route): boolean {
  const method = (route.method ?? "GET").toUpperCase();
  if (method === "GET" || method === "HEAD") return false;
  const { pathname } = new URL(route.url ?? "/", "http://github.test");
  return !/^\/app\/installations\/[^/]+\/access_tokens$|^\/applications\/[^/]+\/token(\/scoped)?$|^\/login\/oauth\/access_token$/.test(
    pathname,
  );
}
