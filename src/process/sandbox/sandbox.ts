/**
 * How the code under test is confined (docs/security.md: "The code under test"):
 * - bwrap: bubblewrap shows it only the system's directories (read-only),
 *   the interpreter, pyci's helpers, and its own checkout and scratch dir
 *   (read-write), in pid/ipc/uts namespaces of its own; as root it also
 *   drops to `user`;
 * - user: it runs as the unprivileged `user` (pyci runs as root), seeing the
 *   file system as that user does;
 * - off: as pyci's own user. Every mode passes an allow-listed environment.
 */
export interface Sandbox {
  kind: "bwrap" | "user" | "off";
  /** The uid and gid the code under test runs as (a build's own, see build-uids.ts); absent: pyci's own. */
  user?: SandboxUser;
  /** Paths (key files, the data dir) that bwrap hides when a visible directory holds them. */
  hidden: string[];
  /** Directories it reads beyond the system's (bwrap binds them read-only). */
  readable: string[];
  /** Directories it writes: the checkout and the scratch dir (bwrap binds them; they are chowned to `user`). */
  writable: string[];
  /** Directories bwrap shows at another path (a cached environment at the path it was built at); other modes cannot. */
  mounts?: SandboxMount[];
  /** What bounds the build's use of the machine (CI_BUILD_*); absent: nothing (`pyci run`, GitHub Actions). */
  limits?: SandboxLimits;
}

/** The build's limits as every command of it gets them (see prepare-sandbox.ts). */
export interface SandboxLimits {
  /** The size of bwrap's private /tmp. */
  tmpBytes: number;
  /**
   * The command line that puts `command` under the build's limits: it joins the build's cgroup, or
   * sets rlimits, then execs it. It goes outermost: it runs as root, before the sandbox drops root.
   */
  wrap(command: { cmd: string; args: string[] }): { cmd: string; args: string[] };
}

/** A host directory shown at `target` inside the bwrap sandbox: read-only unless `writable`. */
export interface SandboxMount {
  source: string;
  target: string;
  writable?: boolean;
}

/** Who the code under test runs as. */
export interface SandboxUser {
  uid: number;
  gid: number;
}
