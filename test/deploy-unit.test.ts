import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { packageFile } from "../src/package-files.js";
import { works } from "./support/test-base-image.js";

/**
 * deploy/pyci.service and its SSH drop-in, as systemd reads them: `systemd-analyze verify` finds no
 * unknown key or bad value. (`pyci` is not installed here: ExecStart points at a stand-in; .ci/systemd-test
 * runs the unit itself under systemd.) The stop timeout must outlast CI_SHUTDOWN_GRACE's default.
 */
const ANALYZE = works("systemd-analyze", ["--version"]);
const UNIT = readFileSync(packageFile("deploy/pyci.service"), "utf8");
const DROP_IN = readFileSync(packageFile("deploy/pyci.service.d/ssh-clone.conf"), "utf8");

describe("deploy/pyci.service", () => {
  it.skipIf(!ANALYZE)("passes systemd-analyze verify, with its SSH drop-in", () => {
    const dir = mkdtempSync(join(tmpdir(), "pyci-unit-"));
    try {
      const standIn = join(dir, "pyci");
      writeFileSync(standIn, "#!/bin/sh\n");
      chmodSync(standIn, 0o755);
      expect(UNIT).toContain("\nExecStart=pyci serve\n");
      writeFileSync(
        join(dir, "pyci.service"),
        UNIT.replace("\nExecStart=pyci serve\n", `\nExecStart=${standIn} serve\n`),
      );
      execFileSync("mkdir", [join(dir, "pyci.service.d")]);
      writeFileSync(join(dir, "pyci.service.d", "ssh-clone.conf"), DROP_IN);
      const verify = spawnSync("systemd-analyze", ["verify", join(dir, "pyci.service")], { encoding: "utf8" });
      // systemd says what it ignores on stderr; only lines about other units of this machine are not ours
      const ours = `${verify.stdout}${verify.stderr}`.split("\n").filter((line) => line.includes("pyci"));
      expect(ours).toEqual([]);
      expect(verify.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("gives running builds their grace before systemd kills them", () => {
    expect(UNIT).toMatch(/^KillMode=mixed$/m);
    const stop = Number(/^TimeoutStopSec=(\d+)$/m.exec(UNIT)?.[1]);
    expect(stop).toBeGreaterThan(60);
    expect(UNIT).toMatch(/^Restart=on-failure$/m);
  });
});
