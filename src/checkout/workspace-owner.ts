import { lstatSync, readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { alive } from "../process/alive.js";
import { processStartTime } from "../process/process-start-time.js";

/** The file in a workspace's root that names the pyci process whose build it is. */
const OWNER_FILE = "owner";
/**
 * A workspace gets its owner file within milliseconds of being made: one
 * without it that is older than this was left by a pyci from before owner
 * files, or by one killed between the two.
 */
export const UNOWNED_GRACE_MS = 60_000;

/** Records this process (pid and start time) as the owner of the workspace at `root`. */
export async function writeOwner(root: string): Promise<void> {
  const start = processStartTime(process.pid) ?? "";
  await writeFile(join(root, OWNER_FILE), `${process.pid} ${start}\n`, { mode: 0o600, flag: "wx" });
}

/**
 * Whether the process that made the workspace at `root` has ended: its pid
 * is not alive, or is alive with another start time (the pid was reused);
 * a workspace that is gone has no owner left either. A workspace of a live
 * pyci process — a server's build, a running `pyci run` — is never its
 * owner's leftover, whoever asks. Synchronous: the server asks for each
 * process it finds in a checkout at start-up.
 */
export function ownerEnded(root: string, now = Date.now()): boolean {
  let text: string;
  try {
    text = readFileSync(join(root, OWNER_FILE), "utf8");
  } catch {
    const info = lstatIfAny(root);
    return info === undefined || now - info.mtimeMs > UNOWNED_GRACE_MS;
  }
  const [pidText, start] = text.trim().split(" ");
  const pid = Number(pidText);
  if (!alive(pid)) return true;
  if (!start) return false;
  const current = processStartTime(pid);
  return current !== undefined && current !== start;
}

function lstatIfAny(path: string) {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}
