/**
 * Worker labels (issue 17, routing): what a `pyci worker` has (CI_WORKER_LABELS) and what a
 * repository's `.github/pyci.yml` asks for (`runs_on`). A label is a lowercase name; a label set
 * is kept sorted and without repeats, so that the same wish always names the same queue.
 */
export const LABEL_PATTERN = /^[a-z0-9][a-z0-9_.-]*$/;

/** The longest label: queue and key names stay readable. */
export const LABEL_MAX_LENGTH = 64;

/** Why `label` is not a label, or undefined when it is one. */
export function labelProblem(label: string): string | undefined {
  if (label.length > LABEL_MAX_LENGTH) return `"${label.slice(0, 20)}…" is longer than ${LABEL_MAX_LENGTH} characters`;
  if (!LABEL_PATTERN.test(label))
    return `"${label}" is not a label: use lowercase letters, digits and . _ - (starting with a letter or digit), e.g. py312`;
  return undefined;
}

/** A label set as it names queues and heartbeats: sorted, each label once. */
export function labelSet(labels: Iterable<string>): string[] {
  return [...new Set(labels)].sort();
}

/** Whether a worker with labels `has` may run a build that asks for `wants` (every wanted label is one it has). */
export function servesLabels(has: readonly string[], wants: readonly string[]): boolean {
  const own = new Set(has);
  return wants.every((label) => own.has(label));
}
