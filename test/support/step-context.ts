import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RepoConfig, StepContext } from "../../src/pipeline/types.js";
import { makeRepo, type TestRepo } from "./git-repo.js";

/** python3 from PATH, resolved once: the pyenv shim costs a few hundred ms per start. */
export const PYTHON3 = execFileSync("python3", ["-c", "import sys; print(sys.executable)"], {
  encoding: "utf8",
}).trim();

export interface StepFixture {
  ctx: StepContext;
  repo: TestRepo;
  log(): string;
  remove(): void;
}

/**
 * A real repository of `files` and the context a step runs in over it, as
 * the pipeline makes it (a scratch dir with HOME and TMPDIR, no sandbox),
 * with the default configuration changed by `repoConfig`.
 */
export function stepContext(
  files: Record<string, string>,
  options: { repoConfig?: Partial<RepoConfig>; python?: string; timeoutMs?: number } = {},
): StepFixture {
  const repo = makeRepo(files);
  const scratchDir = mkdtempSync(join(tmpdir(), "pyci-scratch-"));
  for (const made of ["home", "tmp"]) mkdirSync(join(scratchDir, made));
  const parts: string[] = [];
  const ctx: StepContext = {
    dir: repo.dir,
    repoConfig: {
      check: { enforceTypeErrors: undefined },
      test: { startDir: ".", pattern: "test*.py" },
      install: [],
      docs: { install: [], warningsAsErrors: false },
      ...options.repoConfig,
    },
    python: options.python ?? PYTHON3,
    scratchDir,
    timeoutMs: options.timeoutMs ?? 60_000,
    sandbox: { kind: "off" as const, hidden: [], readable: [], writable: [] },
    log: { write: (text) => parts.push(text) },
  };
  return {
    ctx,
    repo,
    log: () => parts.join(""),
    remove: () => {
      repo.remove();
      rmSync(scratchDir, { recursive: true, force: true });
    },
  };
}
