/**
 * The word of `candidates` nearest to `word` (fewest one-character edits,
 * ignoring case and `-`/`_`), when it is near enough to be a typo of it:
 * at most 2 edits, and fewer than half its length.
 */
export function nearestWord(word: string, candidates: readonly string[]): string | undefined {
  const plain = (text: string) => text.toLowerCase().replace(/[-_]/g, "");
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(plain(word), plain(candidate));
    if (!best || distance < best.distance) best = { candidate, distance };
  }
  if (!best || best.distance > 2 || best.distance * 2 >= Math.max(word.length, best.candidate.length)) return undefined;
  return best.candidate;
}

/** Levenshtein distance: insertions, deletions and substitutions. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
