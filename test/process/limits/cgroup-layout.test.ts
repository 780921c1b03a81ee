import { describe, expect, it } from "vitest";
import { cgroupLayout } from "../../../src/process/limits/cgroup-layout.js";

/** Files a layout may ask for; anything else is missing. */
const files = (contents: Record<string, string>) => (path: string) => contents[path];

/** This machine: v1 hierarchies on a tmpfs at /sys/fs/cgroup, cgroup2 at /sys/fs/cgroup/unified without memory or pids. */
const HYBRID = {
  cgroup: `9:name=systemd:/
8:pids:/
7:blkio:/
6:freezer:/
5:devices:/
4:memory:/process_api/6a88bc895699b667c93a696c97b34284
3:cpuset:/
2:cpuacct:/
1:cpu:/
0::/
`,
  mountinfo: `22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`,
};

/** A systemd host with only cgroup v2 (Debian 11+, Ubuntu 21.10+, Fedora 31+), pyci as a service. */
const UNIFIED = {
  cgroup: "0::/system.slice/pyci.service\n",
  mountinfo: `24 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
25 30 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
26 25 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`,
};

describe("cgroupLayout", () => {
  it("finds pyci's cgroup in the v1 memory, pids and freezer hierarchies of a hybrid host whose v2 offers neither", () => {
    const layout = cgroupLayout(
      HYBRID.cgroup,
      HYBRID.mountinfo,
      files({ "/sys/fs/cgroup/unified/cgroup.controllers": "hugetlb\n" }),
    );
    expect(layout).toEqual({
      kind: "v1",
      memory: "/sys/fs/cgroup/memory/process_api/6a88bc895699b667c93a696c97b34284",
      pids: "/sys/fs/cgroup/pids",
      freezer: "/sys/fs/cgroup/freezer",
    });
  });

  it("takes v2 where it offers memory and pids to pyci's cgroup", () => {
    const controllers = {
      "/sys/fs/cgroup/system.slice/pyci.service/cgroup.controllers": "cpuset cpu io memory hugetlb pids rdma misc\n",
    };
    expect(cgroupLayout(UNIFIED.cgroup, UNIFIED.mountinfo, files(controllers))).toEqual({
      kind: "v2",
      dir: "/sys/fs/cgroup/system.slice/pyci.service",
    });
    // on a hybrid host whose v2 has them (the v1 hierarchies then lack them)
    const hybrid = files({ "/sys/fs/cgroup/unified/cgroup.controllers": "memory pids" });
    const v1WithoutThem = HYBRID.mountinfo.replace(/^.*,(memory|pids)\n/gm, "");
    expect(cgroupLayout(HYBRID.cgroup, v1WithoutThem, hybrid)).toEqual({ kind: "v2", dir: "/sys/fs/cgroup/unified" });
  });

  it("says why there is none: v2 without memory and pids delegated, and no v1", () => {
    const layout = cgroupLayout(
      UNIFIED.cgroup,
      UNIFIED.mountinfo,
      files({ "/sys/fs/cgroup/system.slice/pyci.service/cgroup.controllers": "cpu io\n" }),
    );
    expect(layout).toEqual({
      kind: "none",
      reason:
        "cgroup v2 (/sys/fs/cgroup/system.slice/pyci.service) offers pyci's cgroup only cpu, io, not memory and pids",
    });
    const empty = cgroupLayout(UNIFIED.cgroup, UNIFIED.mountinfo, files({}));
    expect(empty).toMatchObject({ kind: "none", reason: expect.stringContaining("no controllers") });
  });

  it("says why there is none: only one of the v1 hierarchies, or no cgroup file system at all", () => {
    const noPids = HYBRID.mountinfo.replace(/^.*,pids\n/m, "");
    expect(cgroupLayout(HYBRID.cgroup, noPids, files({}))).toMatchObject({
      kind: "none",
      reason: expect.stringContaining("v1 pids hierarchy is not mounted"),
    });
    expect(cgroupLayout("", "27 1 254:0 / / rw - ext4 /dev/vda rw\n", files({}))).toEqual({
      kind: "none",
      reason: "no cgroup hierarchy is mounted where pyci can see it (/proc/self/mountinfo)",
    });
  });

  it("maps a container's mount of its own subtree (no cgroup namespace), and unescapes mount points", () => {
    const cgroup = "5:memory:/docker/0123abcd\n4:pids:/docker/0123abcd/sub\n3:freezer:/elsewhere\n";
    const mountinfo = `35 31 0:32 /docker/0123abcd /sys/fs/cgroup/memory ro,nosuid - cgroup cgroup rw,memory
39 31 0:36 /docker/0123abcd /sys/fs/cgroup/pids\\040here rw,nosuid - cgroup cgroup rw,pids
37 31 0:34 /docker/0123abcd /sys/fs/cgroup/freezer rw,nosuid - cgroup cgroup rw,freezer
`;
    // the freezer cgroup lies outside what is mounted: a v1 layout without it
    expect(cgroupLayout(cgroup, mountinfo, files({}))).toEqual({
      kind: "v1",
      memory: "/sys/fs/cgroup/memory",
      pids: "/sys/fs/cgroup/pids here/sub",
    });
  });

  it("finds a container's own v2 root under a cgroup namespace", () => {
    const mountinfo = "700 690 0:29 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup rw\n";
    expect(
      cgroupLayout("0::/\n", mountinfo, files({ "/sys/fs/cgroup/cgroup.controllers": "cpu memory pids" })),
    ).toEqual({ kind: "v2", dir: "/sys/fs/cgroup" });
  });
});
