import { join, posix } from "node:path";
import { isFile } from "../../../checkout/is-file.js";

/** Where Sphinx projects keep conf.py, in the order they are looked for. */
export const DOCS_CANDIDATES = ["docs", "doc", "docs/source", "doc/source", "."] as const;

/**
 * The Sphinx source directory of the checkout `dir`, relative to it ("."
 * for the root, forward slashes): the directory holding conf.py.
 *
 * `configured` (docs.dir in .github/pyci.yml) is the only place looked at
 * when given: the answer is that directory, normalized ("./docs/" → "docs"),
 * or undefined when it holds no conf.py (the docs step reports that as an
 * error in the configuration, not as "no docs"). Otherwise the first of
 * docs/, doc/, docs/source/, doc/source/ and the root that holds conf.py.
 */
export async function findDocs(dir: string, configured?: string): Promise<string | undefined> {
  const candidates = configured === undefined ? DOCS_CANDIDATES : [normalize(configured)];
  for (const candidate of candidates) {
    if (await isFile(join(dir, candidate, "conf.py"))) return candidate;
  }
  return undefined;
}

function normalize(relativeDir: string): string {
  const normalized = posix.normalize(relativeDir.replaceAll("\\", "/"));
  return normalized === "/" ? "." : normalized.replace(/\/+$/, "") || ".";
}
