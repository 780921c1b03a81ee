import { stat } from "node:fs/promises";

/** Whether `path` is a regular file (a link is followed). */
export async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
