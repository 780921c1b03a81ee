/**
 * Where pyci's own cgroup is, in the hierarchies that can bound a build:
 * - `v2`: the unified hierarchy, when it offers the memory and pids controllers to pyci's cgroup;
 * - `v1`: the memory and pids hierarchies (a hybrid host's, or an old one's), with the freezer's
 *   when it is mounted (it stops a fork bomb while it is killed);
 * - `none`, and why.
 * Each directory is pyci's own cgroup in that hierarchy: build cgroups are made inside it.
 */
export type CgroupLayout =
  | { kind: "v2"; dir: string }
  | { kind: "v1"; memory: string; pids: string; freezer?: string }
  | { kind: "none"; reason: string };

interface Mount {
  root: string;
  mountPoint: string;
  type: string;
  superOptions: string[];
}

/**
 * The layout from /proc/self/cgroup and /proc/self/mountinfo (their text), and `read`, which
 * gives a file's text or undefined (to ask v2's cgroup.controllers). Whether pyci may write
 * there is not asked here.
 */
export function cgroupLayout(
  selfCgroup: string,
  mountinfo: string,
  read: (path: string) => string | undefined,
): CgroupLayout {
  const memberships = selfCgroup
    .split("\n")
    .map((line) => /^(\d+):([^:]*):(.*)$/.exec(line.trim()))
    .filter((match) => match !== null)
    .map(([, id, controllers, path]) => ({
      v2: id === "0" && controllers === "",
      controllers: controllers!.split(","),
      path: path!,
    }));
  const mounts = mountinfo.split("\n").flatMap((line) => parseMount(line) ?? []);
  const problems: string[] = [];

  const unified = memberships.find((m) => m.v2);
  const unifiedDir =
    unified &&
    locate(
      unified.path,
      mounts.filter((m) => m.type === "cgroup2"),
    );
  if (unifiedDir) {
    const offered = (read(`${unifiedDir}/cgroup.controllers`) ?? "").trim().split(/\s+/).filter(Boolean);
    if (offered.includes("memory") && offered.includes("pids")) return { kind: "v2", dir: unifiedDir };
    problems.push(
      `cgroup v2 (${unifiedDir}) offers pyci's cgroup ${offered.length ? `only ${offered.join(", ")}` : "no controllers"}, not memory and pids`,
    );
  }

  const v1 = (controller: string) => {
    const member = memberships.find((m) => !m.v2 && m.controllers.includes(controller));
    return (
      member &&
      locate(
        member.path,
        mounts.filter((m) => m.type === "cgroup" && m.superOptions.includes(controller)),
      )
    );
  };
  const memory = v1("memory");
  const pids = v1("pids");
  if (memory && pids) {
    const freezer = v1("freezer");
    return { kind: "v1", memory, pids, ...(freezer ? { freezer } : {}) };
  }
  if (memory || pids)
    problems.push(
      `the cgroup v1 ${memory ? "pids" : "memory"} hierarchy is not mounted (or pyci's cgroup is not under it)`,
    );
  else if (!unifiedDir) problems.push("no cgroup hierarchy is mounted where pyci can see it (/proc/self/mountinfo)");
  return { kind: "none", reason: problems.join("; ") };
}

/** The directory of cgroup `path` under the mount that holds it (a mount may show a subtree only). */
function locate(path: string, mounts: Mount[]): string | undefined {
  for (const mount of mounts) {
    const root = mount.root === "/" ? "" : mount.root;
    if (path !== root && !path.startsWith(`${root}/`)) continue;
    const rest = path.slice(root.length);
    return rest === "/" || rest === "" ? mount.mountPoint : `${mount.mountPoint.replace(/\/$/, "")}${rest}`;
  }
  return undefined;
}

/** One line of mountinfo: `36 35 98:0 /root /mount/point rw,relatime shared:1 - cgroup cgroup rw,memory`. */
function parseMount(line: string): Mount | undefined {
  const [before, after] = line.split(" - ");
  const fields = before?.split(" ");
  const tail = after?.split(" ");
  if (!fields || fields.length < 5 || !tail || tail.length < 3) return undefined;
  return {
    root: unescapeField(fields[3]!),
    mountPoint: unescapeField(fields[4]!),
    type: tail[0]!,
    superOptions: tail[2]!.split(","),
  };
}

/** mountinfo writes space, tab, newline and backslash as octal escapes (\040). */
function unescapeField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}
