import { execFile, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

/**
 * `pyci-test-base`: Debian bookworm (minbase) with bubblewrap, python3, setpriv and ps, made with
 * debootstrap from Debian's mirror (no registry of images is reachable here) and kept between runs.
 * test/e2e/container-sandbox.e2e.test.ts runs pyci's sandbox in it; .ci/container-test builds the
 * Dockerfile on it (with Node added).
 */
export const TEST_BASE_IMAGE = "pyci-test-base";
/** How podman runs on these machines: runc, and cgroupfs (no systemd to manage cgroups). */
export const PODMAN = ["--runtime", "runc", "--cgroup-manager=cgroupfs"];
/** Making the image, once: debootstrap takes 1 to 2 minutes here. */
export const BUILD_TIMEOUT_MS = 12 * 60_000;

const SUITE = "bookworm";
const PACKAGES = "bubblewrap,python3,util-linux,procps";
const MIRROR = "http://deb.debian.org/debian";
/** Names what the image holds: an image of another recipe is rebuilt, not reused. */
const RECIPE = createHash("sha256").update(`${SUITE} minbase ${PACKAGES}`).digest("hex").slice(0, 16);

const exec = promisify(execFile);

export function works(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: "ignore", timeout: 30_000 });
    return true;
  } catch {
    return false;
  }
}

export async function podman(args: string[], timeout = 60_000): Promise<{ stdout: string; stderr: string }> {
  return exec("podman", [...PODMAN, ...args], { timeout, killSignal: "SIGKILL", maxBuffer: 16 * 1024 * 1024 });
}

/**
 * Makes TEST_BASE_IMAGE unless an image of this recipe is there; says which and how long it took.
 * Throws, naming the package, when it must be made and debootstrap is missing.
 */
export async function ensureTestBaseImage(log: (line: string) => void): Promise<void> {
  if ((await imageRecipe()) === RECIPE) return;
  if (!works("debootstrap", ["--version"]))
    throw new Error(
      `the image ${TEST_BASE_IMAGE} is missing (or of another recipe) and debootstrap is not installed to build it (apt-get install debootstrap)`,
    );
  const started = performance.now();
  log(`building ${TEST_BASE_IMAGE} with debootstrap (once; kept for the next runs)`);
  await buildImage();
  log(`built ${TEST_BASE_IMAGE} in ${Math.round((performance.now() - started) / 1000)} s`);
}

async function imageRecipe(): Promise<string | undefined> {
  try {
    await podman(["image", "exists", TEST_BASE_IMAGE]);
  } catch {
    return undefined;
  }
  const { stdout } = await podman([
    "image",
    "inspect",
    "--format",
    '{{index .Config.Labels "pyci.test-base"}}',
    TEST_BASE_IMAGE,
  ]);
  return stdout.trim();
}

async function buildImage(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "pyci-test-base-"));
  try {
    const rootfs = join(dir, "rootfs");
    await exec("debootstrap", ["--variant=minbase", `--include=${PACKAGES}`, SUITE, rootfs, MIRROR], {
      timeout: BUILD_TIMEOUT_MS - 60_000,
      killSignal: "SIGKILL",
      maxBuffer: 64 * 1024 * 1024,
    });
    await exec(
      "bash",
      [
        "-c",
        'set -euo pipefail; tar -C "$1" -c . | podman "${@:4}" import --change "LABEL pyci.test-base=$3" - "$2" >/dev/null',
        "_",
        rootfs,
        TEST_BASE_IMAGE,
        RECIPE,
        ...PODMAN,
      ],
      {
        timeout: 5 * 60_000,
        killSignal: "SIGKILL",
      },
    );
  } finally {
    await removeRootfs(dir);
  }
}

/**
 * A debootstrap that was stopped may leave /proc, /sys or the host's device nodes mounted in the
 * tree: those are unmounted first, and rm never crosses into another file system.
 */
async function removeRootfs(dir: string): Promise<void> {
  const mounts = readFileSync("/proc/self/mounts", "utf8")
    .split("\n")
    .map((line) => line.split(" ")[1] ?? "")
    .filter((point) => point.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const point of mounts) await exec("umount", ["--lazy", point]).catch(() => undefined);
  await exec("rm", ["-rf", "--one-file-system", "--", dir], { timeout: 5 * 60_000 });
}
