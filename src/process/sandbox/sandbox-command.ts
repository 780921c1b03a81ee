import { dirname, sep } from "node:path";
import type { Sandbox } from "./sandbox.js";

/** System directories the code under test may read (those that exist are bound read-only). */
const SYSTEM_DIRS = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/run/systemd/resolve"];

export interface Command {
  cmd: string;
  args: string[];
}

/**
 * The command line that runs `cmd args` confined by `sandbox`, from `cwd`.
 * Pure: what exists on disk is the caller's business (`exists` answers for
 * the optional system directories and hidden paths).
 *
 * - user: `setpriv` becomes `user` (no supplementary groups, no capabilities,
 *   no_new_privs: setuid programs cannot give root back).
 * - bwrap: a mount namespace holding only the system directories and the
 *   sandbox's readable (read-only) and writable directories, with a private
 *   /tmp, /proc and /dev, its own pid, ipc and uts namespaces and session, and
 *   the network of the host (pip installs); it dies with pyci. Mounts show a
 *   directory at another path (a cached environment, read-only). Hidden paths
 *   inside visible directories are covered. Run by root, bwrap keeps the
 *   capabilities to change user and `setpriv` drops to `user` inside; run by
 *   anyone else, it needs a user namespace of its own.
 */
export function sandboxCommand(
  sandbox: Sandbox,
  command: Command,
  cwd: string,
  exists: (path: string) => "dir" | "file" | undefined,
): Command {
  const dropToUser = sandbox.user
    ? [
        "setpriv",
        "--reuid",
        String(sandbox.user.uid),
        "--regid",
        String(sandbox.user.gid),
        "--clear-groups",
        "--no-new-privs",
        "--inh-caps=-all",
        "--bounding-set=-all",
        "--",
      ]
    : [];
  if (sandbox.kind === "off") return command;
  if (sandbox.kind === "user") {
    if (!sandbox.user) return command;
    return { cmd: dropToUser[0]!, args: [...dropToUser.slice(1), command.cmd, ...command.args] };
  }

  const args = [
    "--die-with-parent",
    "--new-session",
    "--unshare-pid",
    "--unshare-ipc",
    "--unshare-uts",
    "--unshare-cgroup-try",
  ];
  if (!sandbox.user) args.push("--unshare-user");
  const visible: string[] = [];
  for (const dir of SYSTEM_DIRS) {
    if (exists(dir) !== "dir") continue;
    args.push("--ro-bind", dir, dir);
    visible.push(dir);
  }
  args.push("--proc", "/proc", "--dev", "/dev", "--perms", "1777");
  if (sandbox.limits) args.push("--size", String(sandbox.limits.tmpBytes));
  args.push("--tmpfs", "/tmp");
  // the way to the bound directories: searchable by the user, not listable (bwrap would make it 0700),
  // so that an empty stand-in for the hidden data dir, on the way to a mirror's objects, shows nothing either
  const mounts = [...sandbox.readable, ...sandbox.writable, ...(sandbox.mounts ?? []).map((m) => m.target)];
  for (const dir of ancestors(mounts)) {
    if (visible.some((v) => isInside(dir, v)) || mounts.includes(dir)) continue;
    args.push("--perms", "0711", "--dir", dir);
  }
  for (const dir of sandbox.readable) {
    args.push("--ro-bind", dir, dir);
    visible.push(dir);
  }
  for (const dir of sandbox.writable) {
    args.push("--bind", dir, dir);
    visible.push(dir);
  }
  for (const mount of sandbox.mounts ?? []) {
    args.push(mount.writable ? "--bind" : "--ro-bind", mount.source, mount.target);
    visible.push(mount.target);
  }
  for (const path of sandbox.hidden) {
    if (!visible.some((dir) => isInside(path, dir))) continue;
    const kind = exists(path);
    if (kind === "dir") args.push("--tmpfs", path);
    else if (kind === "file") args.push("--ro-bind", "/dev/null", path);
  }
  args.push("--chdir", cwd);
  if (sandbox.user) args.push("--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP");
  args.push("--", ...dropToUser, command.cmd, ...command.args);
  return { cmd: "bwrap", args };
}

function isInside(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : `${dir}${sep}`);
}

/** Every directory above `paths` (not "/"), parents first. */
function ancestors(paths: string[]): string[] {
  const all = new Set<string>();
  for (const path of paths) {
    for (let dir = dirname(path); dir !== "/" && dir !== "."; dir = dirname(dir)) all.add(dir);
  }
  return [...all].sort((a, b) => a.split(sep).length - b.split(sep).length || a.localeCompare(b));
}
