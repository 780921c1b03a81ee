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
  /** The assets it imports (`from "./render-ansi.js"`), to be served beside it. */
  imports: WebAsset[];
}

/**
 * The static files are plain browser code in src/web/assets, served as they
 * are (tsc does not copy them; the package ships that directory). A missing
 * file fails at startup, not on the first page view.
 *
 * A script's imports of another asset (`from "./render-ansi.js"`, the only
 * form the assets use; they import no module that imports them back) are
 * served with that asset's version (`from "./render-ansi.js?v=…"`), so that
 * every file of the page can be cached for good and a changed module changes
 * the URL of each script that imports it.
 */
const ASSETS_DIR = packageFile("src", "web", "assets");

const TYPES: Record<string, string> = { ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8" };
const IMPORT = /\bfrom "\.\/([\w-]+\.js)"/g;

export function webAsset(name: string): WebAsset {
  const file = readFileSync(join(ASSETS_DIR, name));
  const source = name.endsWith(".js") ? file.toString("utf8") : "";
  const imports = new Map([...source.matchAll(IMPORT)].map(([, dep]) => [dep!, webAsset(dep!)]));
  const body =
    imports.size === 0
      ? file
      : Buffer.from(source.replace(IMPORT, (_, dep: string) => `from "./${dep}?v=${imports.get(dep)!.version}"`));
  const version = createHash("sha256").update(body).digest("base64url").slice(0, 12);
  const path = `/assets/${name}`;
  const contentType = TYPES[name.slice(name.lastIndexOf("."))] ?? "application/octet-stream";
  return { src: `${path}?v=${version}`, path, version, body, contentType, imports: [...imports.values()] };
}
