import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { packageFile } from "../package-files.js";

/** A static file of the web pages, read once. */
export interface WebAsset {
  /** Its URL path, with a version that changes with its content (it can be cached for good). */
  src: string;
  path: string;
  version: string;
  body: Buffer;
  contentType: string;
}

/**
 * The static files are plain browser code in src/web/assets, served as they
 * are (tsc does not copy them; the package ships that directory). A missing
 * file fails at startup, not on the first page view.
 */
const ASSETS_DIR = packageFile("src", "web", "assets");

const TYPES: Record<string, string> = { ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8" };

export function webAsset(name: string): WebAsset {
  const body = readFileSync(join(ASSETS_DIR, name));
  const version = createHash("sha256").update(body).digest("base64url").slice(0, 12);
  const path = `/assets/${name}`;
  const contentType = TYPES[name.slice(name.lastIndexOf("."))] ?? "application/octet-stream";
  return { src: `${path}?v=${version}`, path, version, body, contentType };
}
