import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";

/** Pages Sphinx generates for every project, at the top of the output. */
const GENERATED_PAGES = new Set(["genindex.html", "search.html", "py-modindex.html"]);
/** Directories of the HTML builder that hold copies and assets, not pages. */
const NOT_PAGES = new Set(["_static", "_sources", "_images", "_downloads", ".doctrees"]);

/** Entries looked at, at most: the output is the code under test's, and may be made to be endless. */
const MAX_ENTRIES = 200_000;

/**
 * The documentation's pages in Sphinx's HTML output: the .html files at any
 * depth, except genindex.html, search.html and py-modindex.html at the top
 * and anything under _static/, _sources/, _images/ and _downloads/.
 * Symbolic links are not followed (the output directory itself must not be
 * one), and the walk stops after MAX_ENTRIES entries.
 */
export async function countHtmlPages(outDir: string): Promise<number> {
  if (!(await lstat(outDir)).isDirectory()) throw new Error(`${outDir} is not a directory`);
  let seen = 0;
  const walk = async (dir: string, top: boolean): Promise<number> => {
    let count = 0;
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if ((seen += 1) > MAX_ENTRIES) return count;
      if (entry.isDirectory()) {
        if (!(top && NOT_PAGES.has(entry.name))) count += await walk(join(dir, entry.name), false);
      } else if (entry.isFile() && entry.name.endsWith(".html") && !(top && GENERATED_PAGES.has(entry.name))) {
        count += 1;
      }
    }
    return count;
  };
  return walk(outDir, true);
}
