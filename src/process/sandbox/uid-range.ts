/** The uids builds run as (CI_SANDBOX_UIDS): `first` … `first + count - 1`, none of them a real account's. */
export interface UidRange {
  first: number;
  count: number;
}

/** "900000-965535" → a range; undefined when it is not one (or reaches uid 0, or past 2^32-2). */
export function parseUidRange(text: string): UidRange | undefined {
  const match = /^(\d+)-(\d+)$/.exec(text.trim());
  if (!match) return undefined;
  const first = Number(match[1]);
  const last = Number(match[2]);
  if (first < 1000 || last < first || last > 4_294_967_294) return undefined;
  return { first, count: last - first + 1 };
}
