import { constants } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";

/** Why a file the code under test could have replaced cannot be read (not a regular file, too large, a link). */
export class BuildFileError extends Error {
  override name = "BuildFileError";
}

/**
 * Opens a file that lies where the code under test could write (a step's
 * results in the scratch dir, the docs archive), as pyci — often root — must:
 * never through a symbolic link (O_NOFOLLOW), never waiting on a FIFO or a
 * device (O_NONBLOCK, then only a regular file is accepted), never a hard
 * link to someone else's file (one name only), and never one larger than
 * `maxBytes`. A missing file is undefined; anything else wrong is a
 * BuildFileError. The caller closes the handle.
 */
export async function openBuildFile(
  path: string,
  maxBytes: number,
): Promise<{ file: FileHandle; size: number } | undefined> {
  let file: FileHandle;
  try {
    file = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return undefined;
    if (code === "ELOOP") throw new BuildFileError(`${path} is a symbolic link, not a file`);
    throw new BuildFileError(`${path} could not be opened (${code ?? (error as Error).message})`);
  }
  try {
    const info = await file.stat();
    if (!info.isFile()) throw new BuildFileError(`${path} is not a regular file`);
    if (info.nlink !== 1) throw new BuildFileError(`${path} has ${info.nlink} names (a hard link), not one`);
    if (info.size > maxBytes)
      throw new BuildFileError(`${path} has ${info.size} bytes, more than the ${maxBytes} pyci reads`);
    return { file, size: info.size };
  } catch (error) {
    await file.close();
    throw error;
  }
}

/** The whole of such a file (see openBuildFile), read to at most `maxBytes` even while it grows. */
export async function readBuildFile(path: string, maxBytes: number): Promise<Buffer | undefined> {
  const opened = await openBuildFile(path, maxBytes);
  if (!opened) return undefined;
  const { file, size } = opened;
  try {
    const buffer = Buffer.alloc(size + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await file.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > size) throw new BuildFileError(`${path} grew while pyci read it`);
    return buffer.subarray(0, length);
  } finally {
    await file.close();
  }
}
