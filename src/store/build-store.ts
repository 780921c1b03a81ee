import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { BuildRequest } from "../builds/build-request.js";
import type { StepResult } from "../pipeline/types.js";
import { openStepLog, type StepLog } from "./step-log.js";

export type BuildState = "queued" | "running" | "success" | "failure" | "error";

export interface BuildRecord {
  /** Capability id: 128 random bits; the build page's URL is not guessable. */
  id: string;
  owner: string;
  repo: string;
  sha: string;
  event: string;
  /** "pr" (check + test) or "docs". */
  pipeline: string;
  deliveryId?: string;
  prNumber?: number;
  prTitle?: string;
  prUrl?: string;
  state: BuildState;
  /** Why the build ended in `error`, when it did. */
  error?: string;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  steps: StepResult[];
  checkRunId?: number;
  /** The branch the build is about (PR head ref, or the branch a merge went into): for badges. */
  branch?: string;
  /** What was asked for, to re-queue or settle the build after a restart. */
  request?: BuildRequest;
}

const ID_PATTERN = /^[A-Za-z0-9_-]{22}$/;

export function newBuildId(): string {
  return randomBytes(16).toString("base64url");
}

export function isBuildId(value: string): boolean {
  return ID_PATTERN.test(value);
}

/**
 * Builds and their step logs on disk, under CI_DATA_DIR/builds/<id>/:
 * build.json (rewritten atomically) and one <step>.log per step.
 */
export class BuildStore {
  private readonly root: string;

  constructor(dataDir: string) {
    this.root = join(dataDir, "builds");
    mkdirSync(this.root, { recursive: true, mode: 0o700 });
  }

  create(record: BuildRecord): BuildRecord {
    mkdirSync(this.dir(record.id), { mode: 0o700 });
    this.save(record);
    return record;
  }

  save(record: BuildRecord): void {
    const file = join(this.dir(record.id), "build.json");
    writeFileSync(`${file}.tmp`, JSON.stringify(record, null, 2), { mode: 0o600 });
    renameSync(`${file}.tmp`, file);
  }

  get(id: string): BuildRecord | undefined {
    if (!isBuildId(id)) return undefined;
    const file = join(this.dir(id), "build.json");
    if (!existsSync(file)) return undefined;
    return JSON.parse(readFileSync(file, "utf8")) as BuildRecord;
  }

  openLog(id: string, step: string, mask: (text: string) => string, listener?: (text: string) => void): StepLog {
    return openStepLog(this.logPath(id, step), mask, listener);
  }

  /** The whole stored log of a step, or undefined when it has none. */
  async readLog(id: string, step: string): Promise<string | undefined> {
    if (!isBuildId(id) || !/^[a-z-]+$/.test(step)) return undefined;
    try {
      return await readFile(this.logPath(id, step), "utf8");
    } catch {
      return undefined;
    }
  }

  private logPath(id: string, step: string): string {
    return join(this.dir(id), `${step}.log`);
  }

  private dir(id: string): string {
    if (!isBuildId(id)) throw new Error(`Not a build id: ${JSON.stringify(id)}`);
    return join(this.root, id);
  }
}
