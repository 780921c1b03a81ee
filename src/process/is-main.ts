import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** Whether the module at `url` (its import.meta.url) is the one node was started with, links resolved (npm's bin links). */
export function isMain(url: string): boolean {
  try {
    return !!process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(url);
  } catch {
    return false;
  }
}
