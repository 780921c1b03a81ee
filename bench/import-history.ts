import { execFileSync } from "node:child_process";
import type { TestRepo } from "../test/support/git-repo.js";

/**
 * Puts `history` (sets of changed files, oldest first) under the repository's only commit with
 * `git fast-import`, then a last commit that brings back the tree the repository had, so that its
 * files and tree are what they were and it now has a history; packs it the way a hosted repository is
 * packed. Sets `repo.sha` to the new tip.
 */
export function importHistory(repo: TestRepo, history: Record<string, string>[]): void {
  const tip = repo.sha;
  // "<mode> blob <id>\t<path>" for every file of the tree
  const entries = repo.git("ls-tree", "-r", tip).split("\n").filter(Boolean);
  const chunks: string[] = [];
  const data = (text: string) => `data ${Buffer.byteLength(text)}\n${text}\n`;
  const when = Date.parse("2024-01-01T00:00:00Z") / 1000;
  history.forEach((changed, k) => {
    chunks.push(
      `commit refs/heads/main\ncommitter Test Author <author@example.com> ${when + k * 3600} +0000\n${data(`change ${k}`)}`,
    );
    if (k === 0) chunks.push(`from ${tip}\n`);
    for (const [path, text] of Object.entries(changed)) chunks.push(`M 100644 inline ${path}\n${data(text)}`);
    chunks.push("\n");
  });
  // the last commit: every file as it is in the working tree (the original tree), and only those
  chunks.push(
    `commit refs/heads/main\ncommitter Test Author <author@example.com> ${when + history.length * 3600} +0000\n${data("back to the project")}deleteall\n`,
  );
  for (const entry of entries) {
    const [meta, path] = entry.split("\t") as [string, string];
    const [mode, , id] = meta.split(" ") as [string, string, string];
    chunks.push(`M ${mode} ${id} ${path}\n`);
  }
  chunks.push("\n");
  // glibc's heap shrinks and grows at every blob otherwise: seconds of brk() on some VMs
  const env = { ...process.env, MALLOC_TOP_PAD_: String(64 * 1024 * 1024) };
  execFileSync("git", ["fast-import", "--quiet", "--force"], {
    cwd: repo.dir,
    env,
    input: chunks.join(""),
    stdio: ["pipe", "ignore", "pipe"],
  });
  repo.git("reset", "-q");
  repo.git("repack", "-a", "-d", "-q");
  repo.sha = repo.git("rev-parse", "HEAD");
  if (repo.git("rev-parse", `${repo.sha}^{tree}`) !== repo.git("rev-parse", `${tip}^{tree}`))
    throw new Error("importHistory changed the repository's tree");
}
