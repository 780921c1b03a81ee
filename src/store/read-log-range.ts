import { open, type FileHandle } from "node:fs/promises";

export interface LogRange {
  /** First byte, default 0; negative counts from the end (-65536: the last 64 KiB). */
  start?: number;
  /** One past the last byte, default the current size. */
  end?: number;
}

export interface LogChunk {
  text: string;
  /** The whole log's size in bytes when it was read (it grows while the step runs). */
  size: number;
  /**
   * The bytes `text` was decoded from. They can differ from the range asked
   * for by up to 3 bytes at either edge, so that no character is cut in two:
   * ask for the neighbouring chunk from these offsets.
   */
  start: number;
  end: number;
}

/** Bytes [start, end) of a file as UTF-8 text, clamped to the file; undefined when it does not exist. */
export async function readLogRange(path: string, range: LogRange = {}): Promise<LogChunk | undefined> {
  for (const [name, value] of Object.entries(range)) {
    if (value !== undefined && !Number.isSafeInteger(value))
      throw new RangeError(`Log range ${name} must be a whole number of bytes, not ${String(value)}`);
  }
  let file: FileHandle;
  try {
    file = await open(path, "r");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  try {
    const { size } = await file.stat();
    const rawStart = range.start ?? 0;
    const start = clamp(rawStart < 0 ? size + rawStart : rawStart, 0, size);
    const end = clamp(range.end ?? size, start, size);
    const buffer = Buffer.alloc(end - start);
    const { bytesRead } = await file.read(buffer, 0, buffer.length, start);
    const bytes = buffer.subarray(0, bytesRead);
    const from = firstCharStart(bytes);
    const to = Math.max(from, lastCharEnd(bytes));
    return { text: bytes.subarray(from, to).toString("utf8"), size, start: start + from, end: start + to };
  } finally {
    await file.close();
  }
}

/** Skips continuation bytes (10xxxxxx) of a character that began before the range. */
function firstCharStart(bytes: Buffer): number {
  let i = 0;
  while (i < Math.min(3, bytes.length) && isContinuation(bytes[i]!)) i++;
  return i;
}

/** Drops a character whose last bytes lie after the range. */
function lastCharEnd(bytes: Buffer): number {
  for (let back = 1; back <= Math.min(4, bytes.length); back++) {
    const i = bytes.length - back;
    const byte = bytes[i]!;
    if (isContinuation(byte)) continue;
    const length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return i + length > bytes.length ? i : bytes.length;
  }
  return bytes.length;
}

function isContinuation(byte: number): boolean {
  return (byte & 0xc0) === 0x80;
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(Math.max(value, min), max);
}
