import { access } from "node:fs/promises";

/** Whether something is at `path` (a link is followed: a dangling one is not there). */
export async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
