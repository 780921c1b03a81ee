import { join, posix } from "node:path";
import { exists } from "../../../checkout/exists.js";

/** What to install: docs.install commands (run with `sh -c`), or a requirements file, relative to the checkout. */
export type DocsRequirements = { commands: string[] } | { requirementsFile: string };

/**
 * What to install before building the docs in `srcDir` of the checkout
 * `dir`: the docs.install `commands` when configured, otherwise the first
 * requirements file of <docs dir>/, its parent when the docs dir is a
 * source/ folder (docs/source → docs/), and docs/; undefined when the
 * repository declares none.
 */
export async function docsRequirements(
  dir: string,
  srcDir: string,
  commands: string[],
): Promise<DocsRequirements | undefined> {
  if (commands.length > 0) return { commands };
  const candidates = [posix.join(srcDir, "requirements.txt")];
  if (posix.basename(srcDir) === "source") candidates.push(posix.join(posix.dirname(srcDir), "requirements.txt"));
  candidates.push("docs/requirements.txt");
  for (const requirementsFile of candidates) {
    if (await exists(join(dir, requirementsFile))) return { requirementsFile };
  }
  return undefined;
}
