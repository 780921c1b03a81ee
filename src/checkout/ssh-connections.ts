import { mkdir, readdir, unlink } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { run } from "../process/exec.js";

/**
 * The server keeps its SSH connection to a git host open between fetches
 * (OpenSSH's ControlMaster): the next build's fetch opens a session on it
 * instead of a new connection, skipping the TCP and SSH handshakes and the
 * authentication. The control sockets live in <CI_DATA_DIR>/ssh (0700: only
 * the server's user can use them; the code under test never sees the data
 * dir). A connection closes after IDLE_SECONDS unused, on a graceful stop,
 * and, when an earlier server left it open, at the next start.
 */
const IDLE_SECONDS = 300;
/** A Unix socket path holds at most 107 bytes; ssh names the socket <dir>/<%C: 40 hex> and first binds it with a 17-byte suffix. */
const MAX_SOCKET_PATH = 107;
const SOCKET_NAME = 1 + 40 + 17;

/** Where the control sockets of a data dir go, or undefined when that path is too long for a socket (then every fetch connects anew). */
export function sshControlDir(dataDir: string): string | undefined {
  const dir = join(dataDir, "ssh");
  return Buffer.byteLength(dir) + SOCKET_NAME <= MAX_SOCKET_PATH ? dir : undefined;
}

/** ssh's options for sharing connections through `dir` (which must exist: see ensureSshControlDir). */
export function sshControlOptions(dir: string): string[] {
  return [
    "-o",
    "ControlMaster=auto",
    "-o",
    `ControlPath=${escapePercent(dir)}/%C`,
    "-o",
    `ControlPersist=${IDLE_SECONDS}`,
    // a connection that died silently is noticed within 30 s, rather than hanging the fetches that share it
    "-o",
    "ServerAliveInterval=15",
    "-o",
    "ServerAliveCountMax=2",
  ];
}

/**
 * Makes the socket directory (owned by the server's user, closed to everyone
 * else) before each fetch, and says whether ssh can use it: a directory where
 * a Unix socket cannot be made (some network or shared file systems) would
 * make every fetch fail, so it is tried once per directory, and `false` means
 * each fetch connects anew.
 */
export async function ensureSshControlDir(dir: string): Promise<boolean> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch {
    return false;
  }
  let usable = socketsWork.get(dir);
  if (usable === undefined) {
    usable = canListen(join(dir, `probe-${process.pid}`));
    socketsWork.set(dir, usable);
  }
  return usable;
}

const socketsWork = new Map<string, Promise<boolean>>();

function canListen(path: string): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(path, () => server.close(() => resolve(true)));
  }).finally(() => unlink(path).catch(() => undefined));
}

/**
 * Asks every connection kept in `dir` to close (`ssh -O exit`) and removes
 * its socket; a socket nobody answers on is only removed. Returns how many
 * sockets there were. At start-up (an earlier server's connections, maybe
 * made with another key) and on a graceful stop.
 */
export async function closeSshConnections(dir: string): Promise<number> {
  const names = await readdir(dir).catch(() => [] as string[]);
  await Promise.all(
    names.map(async (name) => {
      const socket = join(dir, name);
      await run({
        cmd: "ssh",
        args: ["-F", "/dev/null", "-o", `ControlPath=${escapePercent(socket)}`, "-O", "exit", "pyci-connection"],
        cwd: "/",
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
        timeoutMs: 5_000,
      });
      await unlink(socket).catch(() => undefined);
    }),
  );
  return names.length;
}

/** ssh expands %-tokens in ControlPath: a literal % is %%. */
function escapePercent(path: string): string {
  return path.replace(/%/g, "%%");
}
