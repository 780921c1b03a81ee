/**
 * Why a build was stopped before its end: a newer head of its pull request, a shutdown of pyci
 * (the next start runs it again), or its GitHub Actions job cancelled (nothing runs it again).
 */
export type StopReason = { kind: "superseded"; by: string } | { kind: "shutdown" } | { kind: "cancelled" };

/** The reasons that end a build for good: it is reported, never run again. */
export type FinalStopReason = Exclude<StopReason, { kind: "shutdown" }>;
