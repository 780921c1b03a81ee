/** Why a build was stopped before its end: a newer head of its pull request, or a shutdown of pyci. */
export type StopReason = { kind: "superseded"; by: string } | { kind: "shutdown" };
