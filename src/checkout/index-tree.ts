import { readFile } from "node:fs/promises";

/** SHA-1 ids: what GitHub's repositories use (an index in another format is not read here). */
const HASH_BYTES = 20;
/** ctime, mtime, dev, ino, mode, uid, gid, size (40 bytes), the blob id, the flags (2 bytes). */
const ENTRY_FIXED_BYTES = 40 + HASH_BYTES + 2;
const EXTENDED_FLAG = 0x4000;

/**
 * The root tree id that `git read-tree <commit>` leaves in the index's
 * cache-tree extension ("TREE", gitformat-index(5)): the checkout's tree
 * without one more git process. Undefined for anything else (an index of
 * another version or hash, none or an invalidated root entry): ask git then.
 */
export async function rootTreeFromIndex(indexPath: string): Promise<string | undefined> {
  const index = await readFile(indexPath).catch(() => undefined);
  return index && rootTreeOf(index);
}

export function rootTreeOf(index: Buffer): string | undefined {
  if (index.length < 12 + HASH_BYTES || index.toString("latin1", 0, 4) !== "DIRC") return undefined;
  const version = index.readUInt32BE(4);
  if (version !== 2 && version !== 3) return undefined;
  const end = index.length - HASH_BYTES; // the trailing checksum
  let at = 12;
  // entries: the fixed part, the path, 1-8 NULs to a multiple of 8 bytes from the entry's start
  for (let count = index.readUInt32BE(8); count > 0; count--) {
    if (at + ENTRY_FIXED_BYTES > end) return undefined;
    const flags = index.readUInt16BE(at + ENTRY_FIXED_BYTES - 2);
    const pathStart = at + ENTRY_FIXED_BYTES + (version === 3 && flags & EXTENDED_FLAG ? 2 : 0);
    const nul = index.indexOf(0, pathStart);
    if (nul < 0 || nul >= end) return undefined;
    at += (nul - at + 8) & ~7;
  }
  // extensions: a 4-byte signature, a 4-byte size, the data
  while (at + 8 <= end) {
    const signature = index.toString("latin1", at, at + 4);
    const size = index.readUInt32BE(at + 4);
    const data = at + 8;
    if (data + size > end) return undefined;
    if (signature === "TREE") {
      // the first entry is the root: "" NUL, "<entries> <subtrees>" LF, then its id unless entries is -1 (invalid)
      if (index[data] !== 0) return undefined;
      const lf = index.indexOf(10, data + 1);
      if (lf < 0 || lf + 1 + HASH_BYTES > data + size) return undefined;
      const counts = /^(-?\d+) (\d+)$/.exec(index.toString("latin1", data + 1, lf));
      if (!counts || Number(counts[1]) < 0) return undefined;
      return index.toString("hex", lf + 1, lf + 1 + HASH_BYTES);
    }
    at = data + size;
  }
  return undefined;
}
