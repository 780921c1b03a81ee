/** A fetch(), as Octokit's `request.fetch` option takes it. */
export type Fetch = (url: string | URL | Request, init?: RequestInit) => Promise<Response>;

export interface RequestTimeouts {
  /** Each API request (one attempt: a retry gets its own), headers and body. */
  requestMs: number;
  /** Requests with a binary body: release asset uploads, which can be large. */
  uploadMs: number;
}

const WRAPPED = Symbol("pyci.fetchWithTimeout");

/**
 * `inner` (default: the global fetch, looked up at each call so that test
 * interceptors apply) with a deadline on every call: a GitHub that never
 * answers fails the attempt with a TimeoutError, which Octokit reports as a
 * 500 and its retry plugin retries. A fetch wrapped once is not wrapped again
 * (installation clients inherit their options from the app's).
 */
export function fetchWithTimeout(inner: Fetch | undefined, timeouts: RequestTimeouts): Fetch {
  if (inner && (inner as { [WRAPPED]?: boolean })[WRAPPED]) return inner;
  const wrapped: Fetch = (url, init = {}) => {
    const binary = init.body !== undefined && init.body !== null && typeof init.body !== "string";
    const deadline = AbortSignal.timeout(binary ? timeouts.uploadMs : timeouts.requestMs);
    const signal = init.signal ? AbortSignal.any([init.signal, deadline]) : deadline;
    return (inner ?? globalThis.fetch)(url, { ...init, signal });
  };
  return Object.assign(wrapped, { [WRAPPED]: true });
}
