import type { IncomingHttpHeaders } from "node:http";
import type { OpenApiOperation } from "./openapi-spec.js";

/**
 * Which of the fake's front doors a request came through, as on GitHub Enterprise Server:
 * `rest` = `/api/v3/…`, `uploads` = `/api/uploads/…` (release assets), `web` = everything else
 * (the host's HTML pages and `browser_download_url`s).
 */
export type FakeApi = "rest" | "uploads" | "web";

/** One request as a route sees it. */
export interface Ctx {
  api: FakeApi;
  method: string;
  /** The path after the api's prefix (`/repos/o/r/releases`), or the whole path for `web`. */
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body (rest only; undefined for uploads and web). */
  body: unknown;
  /** The body exactly as received. */
  rawBytes: Buffer;
  op: OpenApiOperation | undefined;
}

/** What a route answers. Exactly one of body (JSON), text or raw is sent; none for 204. */
export interface Reply {
  status: number;
  body?: unknown;
  text?: string;
  raw?: Buffer;
  contentType?: string;
  headers?: Record<string, string>;
  unexpected?: boolean;
}

export interface Route {
  /** Default `rest`. */
  api?: FakeApi;
  method: string;
  pattern: RegExp;
  handle: (ctx: Ctx, match: string[]) => Reply;
}
