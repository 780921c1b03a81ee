import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { alive } from "../process/alive.js";
import { processStartTime } from "../process/process-start-time.js";

/** The file in a workspace's root that names the pyci process whose build it is. */
const OWNER_FILE = "owner";

/** Records this process (pid and start time) as the owner of the workspace at `root`. */
export async function writeOwner(root: string): Promise<void> {
  const start = processStartTime(process.pid) ?? "";
  await writeFile(join(root, OWNER_FILE), `${process.pid} ${start}\n`, { mode: 0o600, flag: "wx" });
}

/**
 * Whether the process that made the workspace at `root` has ended: its pid
 * is not alive, or is alive with another start time (the pid was reused).
 * A workspace without an owner file has none left: it was made by a pyci
 * from before owner files, or is gone. (A workspace gets its owner file
 * right after mkdtemp makes it; a sweep that lists it in between, within a
 * millisecond, takes it for a leftover.) A workspace of a live
 * pyci process — a server's build, a running `pyci run` — is never its
 * owner's leftover, whoever asks. Synchronous: the server asks for each
 * process it finds in a checkout at start-up.
 */
export function ownerEnded(root: string): boolean {
  let text: string;
  try {
    text = readFileSync(join(root, OWNER_FILE), "utf8");
  } catch {
    return true;
  }
  const [pidText, start] = text.trim().split(" ");
  const pid = Number(pidText);
  if (!alive(pid)) return true;
  if (!start) return false;
  const current = processStartTime(pid);
  return current !== undefined && current !== start;
}
