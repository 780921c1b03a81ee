import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

export interface TestRepo {
  dir: string;
  /** SHA of the last commit. */
  sha: string;
  git(...args: string[]): string;
  /** Writes files and commits them; returns the new SHA. */
  commit(files: Record<string, string>, message?: string): string;
  remove(): void;
}

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: "Test Author",
  GIT_AUTHOR_EMAIL: "author@example.com",
  GIT_COMMITTER_NAME: "Test Author",
  GIT_COMMITTER_EMAIL: "author@example.com",
  GIT_CONFIG_NOSYSTEM: "1",
};

/** A real git repository (branch main) holding `files` in one commit. */
export function makeRepo(files: Record<string, string>, options: { dir?: string } = {}): TestRepo {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), "pyci-repo-"));
  mkdirSync(dir, { recursive: true });
  const git = (...args: string[]) => execFileSync("git", args, { cwd: dir, env: GIT_ENV, encoding: "utf8" }).trim();
  git("init", "-q", "-b", "main");
  const repo: TestRepo = {
    dir,
    sha: "",
    git,
    commit(more, message = "change") {
      for (const [path, content] of Object.entries(more)) {
        const full = join(dir, path);
        mkdirSync(dirname(full), { recursive: true });
        writeFileSync(full, content);
      }
      git("add", "-A");
      git("commit", "-q", "--allow-empty", "-m", message);
      repo.sha = git("rev-parse", "HEAD");
      return repo.sha;
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
  repo.commit(files, "initial");
  return repo;
}
