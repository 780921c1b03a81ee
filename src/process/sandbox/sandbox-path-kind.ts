import { statSync } from "node:fs";

/** Whether `path` is a directory, a file (anything else that exists), or missing: what sandboxCommand asks. */
export function pathKind(path: string): "dir" | "file" | undefined {
  try {
    return statSync(path).isDirectory() ? "dir" : "file";
  } catch {
    return undefined;
  }
}
