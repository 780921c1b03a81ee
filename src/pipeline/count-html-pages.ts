import { readdir } from "node:fs/promises";
import { join } from "node:path";

/** Pages Sphinx generates for every project, at the top of the output. */
const GENERATED_PAGES = new Set(["genindex.html", "search.html", "py-modindex.html"]);
/** Directories of the HTML builder that hold copies and assets, not pages. */
const NOT_PAGES = new Set(["_static", "_sources", "_images", "_downloads", ".doctrees"]);

/**
 * The documentation's pages in Sphinx's HTML output: the .html files at any
 * depth, except genindex.html, search.html and py-modindex.html at the top
 * and anything under _static/, _sources/, _images/ and _downloads/.
 */
export async function countHtmlPages(outDir: string): Promise<number> {
  const walk = async (dir: string, top: boolean): Promise<number> => {
    let count = 0;
    for (const entry of await readdir(dir, { withFileTypes: true })) {
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
