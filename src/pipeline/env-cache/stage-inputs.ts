import { createHash } from "node:crypto";
import { lstat, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, posix } from "node:path";
import { readBuildFile } from "../../process/sandbox/read-build-file.js";
import { installInputs, type InstallInput } from "./install-inputs.js";

/** What pyci copies of a checkout for one environment, at most: wheels, a local package or two. */
const MAX_BYTES = 256 * 1024 * 1024;

/**
 * Copies what the installs read from the checkout `dir` into `into`, at
 * the same relative paths: the requirements files (and those they name
 * with -r and -c), the local packages, wheels and --find-links
 * directories. Returns the hash of the copy (paths, contents, executable
 * bits: the environment's key), or why it cannot be cached. A symbolic
 * link or a special file is a problem: pyci copies only plain files of the
 * repository, never what a link points at. A missing path is left out
 * (pip says so when it installs).
 */
export async function stageInputs(
  dir: string,
  inputs: InstallInput[],
  into: string,
): Promise<{ hash: string } | { problem: string }> {
  const queue = [...inputs];
  const seen = new Set<string>();
  let bytes = 0;
  for (let input = queue.shift(); input; input = queue.shift()) {
    const path = input.kind === "path" && input.orElse && !(await present(dir, input.path)) ? input.orElse : input.path;
    if (seen.has(path)) continue;
    seen.add(path);
    const copied = await copyIn(dir, path, into, MAX_BYTES - bytes);
    if (typeof copied === "string") return { problem: copied };
    bytes += copied;
    if (input.kind !== "requirements" || copied === 0) continue;
    for (const args of requirementLines(await readFile(join(into, path), "utf8"))) {
      const more = installInputs(args, posix.dirname(path));
      if ("problem" in more) return { problem: `${path}: ${more.problem}` };
      queue.push(...more.inputs);
    }
  }
  return { hash: await hashTree(into) };
}

/** Each line of a requirements file as pip install arguments: "name @ url ; marker --hash=x" → ["name @ url", "--hash=x"]. */
export function requirementLines(text: string): string[][] {
  const lines = text
    .replace(/\\\r?\n/g, " ")
    .split(/\r?\n/)
    .map((line) => line.replace(/(^|\s)#.*$/, "").trim())
    .filter((line) => line !== "");
  return lines.map((line) => {
    if (line.startsWith("-")) return line.split(/\s+/);
    const [spec = "", ...options] = line.split(/\s+(?=--)/);
    return [spec.split(";")[0]!.trim(), ...options.flatMap((option) => option.split(/\s+/))];
  });
}

async function present(dir: string, path: string): Promise<boolean> {
  return (await lstat(join(dir, path)).catch(() => undefined)) !== undefined;
}

/** Copies one path of the checkout; its size in bytes (0 when missing), or the problem. */
async function copyIn(dir: string, path: string, into: string, budget: number): Promise<number | string> {
  // no directory on the way may be a link out of the checkout
  for (let up = posix.dirname(path); up !== "."; up = posix.dirname(up)) {
    const info = await lstat(join(dir, up)).catch(() => undefined);
    if (info?.isSymbolicLink()) return `${up} is a symbolic link`;
  }
  const info = await lstat(join(dir, path)).catch(() => undefined);
  if (!info) return 0;
  if (info.isSymbolicLink()) return `${path} is a symbolic link`;
  if (info.isDirectory()) {
    await mkdir(join(into, path), { recursive: true });
    let total = 0;
    for (const name of (await readdir(join(dir, path))).sort()) {
      const copied = await copyIn(dir, posix.join(path, name), into, budget - total);
      if (typeof copied === "string") return copied;
      total += copied;
    }
    return total;
  }
  if (!info.isFile()) return `${path} is not a regular file`;
  if (info.size > budget) return `the files the install reads are larger than ${MAX_BYTES / 1024 / 1024} MiB`;
  const content = await readBuildFile(join(dir, path), budget).catch((error: Error) => error);
  if (content instanceof Error) return content.message;
  if (!content) return 0;
  await mkdir(dirname(join(into, path)), { recursive: true });
  await writeFile(join(into, path), content, { mode: info.mode & 0o111 ? 0o755 : 0o644 });
  return content.length;
}

/** Every file of `root` by relative path, with its content and executable bit, in one hash. */
async function hashTree(root: string): Promise<string> {
  const hash = createHash("sha256");
  const walk = async (rel: string): Promise<void> => {
    for (const name of (await readdir(join(root, rel))).sort()) {
      const path = posix.join(rel, name);
      const info = await lstat(join(root, path));
      if (info.isDirectory()) {
        hash.update(`d ${path}\0`);
        await walk(path);
      } else {
        const digest = createHash("sha256")
          .update(await readFile(join(root, path)))
          .digest("hex");
        hash.update(`f ${path} ${info.mode & 0o111 ? "x" : "-"} ${digest}\0`);
      }
    }
  };
  await walk(".");
  return hash.digest("hex");
}
