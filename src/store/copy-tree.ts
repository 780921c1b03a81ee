import type { Dirent } from "node:fs";
import { copyFile, mkdir, readdir, stat, utimes } from "node:fs/promises";
import { join } from "node:path";

/**
 * Copies the directory `from` into `to` (made 0700), files and directories only, keeping
 * modification times; what disappears while it is copied (a build's logs pruned by retention
 * or removed for a re-run) is skipped. Returns the files and bytes copied.
 */
export async function copyTree(from: string, to: string): Promise<{ files: number; bytes: number }> {
  const total = { files: 0, bytes: 0 };
  let entries: Dirent[];
  try {
    entries = await readdir(from, { withFileTypes: true });
  } catch (error) {
    if (gone(error)) return total;
    throw error;
  }
  await mkdir(to, { mode: 0o700 });
  for (const entry of entries) {
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    if (entry.isDirectory()) {
      const copied = await copyTree(source, target);
      total.files += copied.files;
      total.bytes += copied.bytes;
    } else if (entry.isFile()) {
      try {
        await copyFile(source, target);
        const info = await stat(target);
        const original = await stat(source);
        await utimes(target, original.atime, original.mtime);
        total.files += 1;
        total.bytes += info.size;
      } catch (error) {
        if (!gone(error)) throw error;
      }
    }
  }
  return total;
}

function gone(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === "ENOENT";
}
