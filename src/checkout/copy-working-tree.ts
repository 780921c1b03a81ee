import { cp, mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { run } from "../process/exec.js";
import { gitEnv, type Workspace } from "./workspace.js";

const SKIP = new Set([".git", ".venv", "venv", "node_modules", "__pycache__", ".mypy_cache", ".pytest_cache"]);

/**
 * `pyci run <dir>` builds the working tree as it is, uncommitted changes
 * included, but never writes into it: the files are copied into the
 * workspace. In a git repository that means the tracked and untracked
 * files git does not ignore; elsewhere, everything but caches and venvs.
 */
export async function copyWorkingTree(source: string, workspace: Workspace): Promise<number> {
  const listed = await run({
    cmd: "git",
    args: ["ls-files", "-z", "--cached", "--others", "--exclude-standard"],
    cwd: source,
    env: gitEnv(workspace.scratchDir, { protocol: "local", url: source }),
    timeoutMs: 60_000,
    captureStdout: true,
  });
  if (listed.exitCode === 0) {
    const files = listed.stdout.split("\0").filter((f) => f !== "");
    for (const file of files) {
      const target = join(workspace.dir, file);
      await mkdir(dirname(target), { recursive: true });
      await cp(join(source, file), target, { force: true, errorOnExist: false, verbatimSymlinks: true }).catch(
        (error: NodeJS.ErrnoException) => {
          // a file deleted but not yet staged is listed by git and missing on disk
          if (error.code !== "ENOENT") throw error;
        },
      );
    }
    return files.length;
  }
  let count = 0;
  await cp(source, workspace.dir, {
    recursive: true,
    verbatimSymlinks: true,
    filter: (path) => {
      const name = path.slice(path.lastIndexOf("/") + 1);
      if (SKIP.has(name)) return false;
      count++;
      return true;
    },
  });
  return count;
}
