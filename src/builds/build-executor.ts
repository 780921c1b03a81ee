import type { Logger } from "probot";
import type { BuildRequest } from "../model/build-request.js";
import type { LogSink } from "../model/log-sink.js";
import type { Artifact, RepoConfig, StepResult } from "../pipeline/types.js";

/**
 * Where a build's pipeline runs: in this process (`localExecutor`), or on a `pyci worker`
 * (workers/queue-executor.ts). The orchestrator (run-build.ts) reads the same with either:
 * it hands over the build and the sinks its steps report to, and gets the steps' results.
 */
export interface BuildExecutor {
  /**
   * The pipeline's results (the checkout first), and what is left to do once they are reported;
   * rejects only when the build could not run at all (having tidied up itself).
   */
  execute(build: ExecutedBuild, sinks: BuildSinks): Promise<Executed>;
  /**
   * True where builds go on without this process (on workers): following one again after a
   * restart is no new attempt of it, and a shutdown stops following at once instead of waiting.
   */
  readonly detached?: boolean;
  /**
   * Stops a detached build this process will not follow again (superseded while the server was
   * away): whoever runs it is told to stop, and a build still waiting is taken out of the queue.
   */
  stop?(buildId: string): Promise<void>;
}

export interface Executed {
  results: StepResult[];
  /** Removes the build's directories and bounds the caches: after the report, so that it waits for neither. Never rejects. */
  tidy(): Promise<void>;
}

/** One build as an executor gets it: plain data the server decided, and nothing secret but `cloneToken`. */
export interface ExecutedBuild {
  request: BuildRequest;
  /** The build record's id: a worker's job and event stream are named after it. */
  buildId: string;
  /** The repository's config as the server read it from GitHub (rejects with why it could not be read). */
  repoConfig: Promise<RepoConfig>;
  /** Test durations of the repository's last build with tests (StepContext.testDurations). */
  testDurations: ReadonlyMap<string, number>;
  /**
   * A token to clone over HTTPS with, asked for when the clone starts (a build may wait longer
   * than a token lives); undefined where the clone needs none.
   */
  cloneToken(): Promise<string | undefined>;
  log: Logger;
  /** Aborted when the build is superseded, cancelled or the process shuts down. */
  signal?: AbortSignal;
  /**
   * Where an earlier server process stopped applying the build's report (`BuildSinks.applied`):
   * what came before is stored, the executor reports only what follows. Absent: from the start.
   */
  resumeFrom?: string;
}

/** What a build's steps report, as they run: the server stores and reports it. */
export interface BuildSinks {
  /** A step's log; `mask` hides the executing side's secrets (the sink adds its own); closed when the step ends. */
  openLog(step: string, mask: (text: string) => string): LogSink & { close(): void };
  onStepStart?(step: string): void;
  onStepEnd(result: StepResult): void;
  /**
   * The build waits for something outside it before its pipeline starts ("waits for a worker with
   * labels big: none connected"): the check run and the statuses say so meanwhile.
   */
  waiting?(description: string): void;
  /**
   * The build starts over (another worker took it after the first was lost): forget the steps
   * and logs reported so far; what follows is the build's whole story again.
   */
  restart(): void;
  /**
   * A file a step made that outlives the build (the docs archive), while it still exists: where
   * it is kept from now on (the artifact as it is, where nothing keeps it). The executor asks
   * before the build's directories go, and its results name the kept artifacts.
   */
  keepArtifact(artifact: Artifact): Promise<Artifact>;
  /**
   * A detached executor's position in its report (a stream entry id), told just before the step
   * end or restart it belongs to: the sinks store it with that change, in one write, and hand it
   * back as `resumeFrom` when the build is followed again.
   */
  applied?(position: string): void;
}
