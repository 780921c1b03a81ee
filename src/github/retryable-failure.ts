/** What a failed GitHub request says about trying it again later. */
export interface Failure {
  /** Whether a later attempt may succeed: GitHub down, overloaded, rate limited, unreachable, or credentials refused for now. */
  retryable: boolean;
  /** The HTTP status; undefined when no answer came (network, timeout). */
  status: number | undefined;
  /** The wait GitHub asked for (Retry-After, or until x-ratelimit-reset when none remain), in ms. */
  retryAfterMs?: number;
  /** A short, static-enough description for logs and the outbox row (never a request body or a token). */
  summary: string;
}

/**
 * Sorts a failed request: network errors, timeouts, 5xx, 429, 401 (a token
 * refused while GitHub catches up) and a 403 that GitHub marks as a rate limit
 * are worth retrying later; 400, 404, 410, 422 and other 403s are answers no
 * retry changes (the installation or repository is gone, the commit unknown,
 * the request invalid).
 */
export function retryableFailure(error: unknown, now = Date.now()): Failure {
  const { status, response, message } = error as {
    status?: number;
    response?: { headers?: Record<string, string | undefined> };
    message?: string;
  };
  const headers = response?.headers ?? {};
  const rateLimited =
    headers["x-ratelimit-remaining"] === "0" ||
    headers["retry-after"] !== undefined ||
    /rate limit/i.test(message ?? "");
  const noAnswer = response === undefined;
  const retryable =
    noAnswer ||
    status === undefined ||
    status >= 500 ||
    status === 429 ||
    status === 401 ||
    (status === 403 && rateLimited);
  const summary = noAnswer
    ? `no answer from GitHub: ${String(message ?? error).slice(0, 200)}`
    : `GitHub answered ${status}`;
  const retryAfterMs = waitAskedFor(headers, now);
  return {
    retryable,
    status: noAnswer ? undefined : status,
    summary,
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
  };
}

function waitAskedFor(headers: Record<string, string | undefined>, now: number): number | undefined {
  const retryAfter = Number(headers["retry-after"]);
  if (headers["retry-after"] !== undefined && Number.isFinite(retryAfter)) return Math.max(0, retryAfter * 1000);
  const reset = Number(headers["x-ratelimit-reset"]);
  if (headers["x-ratelimit-remaining"] === "0" && Number.isFinite(reset)) return Math.max(0, reset * 1000 - now + 1000);
  return undefined;
}
