import { lchown, lstat, readdir } from "node:fs/promises";
import { join } from "node:path";

/**
 * Gives a directory tree to `uid` (a build's, or pyci's back from a build):
 * symlinks themselves, never what they point at. `dir` must be a directory,
 * not a link to one: pyci made it, in a directory of its own no build can
 * write. Taking a tree back from a build whose processes are all gone,
 * chown also clears any setuid bit it set.
 */
export async function chownTree(dir: string, uid: number, gid: number): Promise<void> {
  if (!(await lstat(dir)).isDirectory())
    throw new Error(`${dir} is not a directory of pyci's: refusing to give it to the build`);
  await lchown(dir, uid, gid);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await chownTree(path, uid, gid);
    else await lchown(path, uid, gid);
  }
}
