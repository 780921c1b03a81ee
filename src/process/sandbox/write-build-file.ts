import { constants } from "node:fs";
import { open, rm } from "node:fs/promises";

/**
 * Writes a file the code under test reads, where it can also write (pyci's
 * instructions to its runner in the scratch dir), as pyci — often root —
 * must: whatever was at the path is removed, and the file is created anew
 * (O_EXCL: never through a link, never into a file someone else holds open),
 * readable by the build. Something put back at the path in between makes
 * this throw, and nothing is written.
 */
export async function writeBuildFile(path: string, text: string): Promise<void> {
  await rm(path, { force: true });
  const file = await open(
    path,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    0o644,
  );
  try {
    await file.writeFile(text, "utf8");
  } finally {
    await file.close();
  }
}
