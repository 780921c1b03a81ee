import { randomBytes } from "node:crypto";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateAppKey } from "../support/app-key.js";
import { latestStatus, startFakeGitHub } from "../support/fake-github.js";
import { makeRepo } from "../support/git-repo.js";
import { pullRequestPayload } from "../support/payloads.js";
import { freePort } from "../support/server-process.js";
import { startSshd } from "../support/sshd.js";
import { until } from "../support/until.js";
import { sendWebhook } from "../support/webhook.js";
import { phaseTimes, podman } from "./container-script.js";
import { probeProject } from "./probe-project.js";

/**
 * `npx vite-node test/container/run-systemd.ts <image>` (.ci/systemd-test): pyci under systemd as
 * docs/deploy.md installs it, in a container whose first process is systemd (`--systemd=always`),
 * against the fake GitHub API and a real sshd on the host's loopback. The image holds pyci, systemd,
 * deploy/pyci.service and deploy/pyci.service.d/ssh-clone.conf as shipped. Its steps:
 * 1. /etc/pyci/pyci.env and the secrets (root's, 0600) written; `systemd-analyze verify`, `systemctl start pyci`;
 * 2. GET /healthz answers 200; the journal names the sandbox and the builds' cgroups;
 * 3. a signed pull_request delivery: ci/check and ci/test end `success` (the tests probe the sandbox);
 * 4. `pyci backup` as the user pyci while the service runs: the copy holds the build;
 * 5. `systemctl stop pyci`: the service ends with result `success` and exit status 0.
 * Exits 1, with the unit's journal, when a step fails.
 */

const [image] = process.argv.slice(2);
if (!image) throw new Error("usage: run-systemd.ts <image>");

const APP_ID = 4344;
const ULIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"];
const TIMEOUT_MS = { boot: 60_000, start: 60_000, build: 180_000, stop: 100_000 };

const name = `pyci-systemd-test-${randomBytes(6).toString("hex")}`;
/** A command in the container, as root; its stdout. */
const inside = async (script: string, timeout = 60_000) =>
  (await podman(["exec", name, "sh", "-c", script], timeout)).stdout.trim();

const { timed, report } = phaseTimes("systemd-test");

const privateKey = generateAppKey();
const secret = `pyci-systemd-${randomBytes(18).toString("base64url")}`;
const [fake, sshd] = await Promise.all([startFakeGitHub({ appId: APP_ID, privateKey }), startSshd()]);
// the App's key as the service reads it: its credentials directory
const repo = makeRepo(probeProject("/run/credentials/pyci.service"));
const files = mkdtempSync(join(tmpdir(), "pyci-systemd-files-"));
let failed = false;
try {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  await podman([
    ...["run", "--detach", "--name", name, "--pull=never", "--systemd=always", "--network", "host"],
    // pyci runs as its user: bubblewrap needs its own /proc, which podman masks by default
    ...["--security-opt", "unmask=ALL", ...ULIMITS, image],
  ]);

  // 1.
  await timed("boot until systemd is running", () =>
    until("systemd is running", TIMEOUT_MS.boot, async () =>
      (await inside("systemctl is-system-running || true")).match(/^(running|degraded)$/) ? true : undefined,
    ),
  );
  const env = {
    APP_ID: String(APP_ID),
    HOST: "127.0.0.1",
    PORT: String(port),
    GHE_HOST: fake.host,
    GHE_PROTOCOL: "http",
    CI_PUBLIC_URL: url,
    LOG_LEVEL: "info",
    // not above the container's RLIMIT_NPROC (ULIMITS), in case builds get no cgroup
    CI_BUILD_PROCESSES: "1024",
  };
  writeFileSync(
    join(files, "pyci.env"),
    Object.entries(env)
      .map(([k, v]) => `${k}=${v}\n`)
      .join(""),
  );
  writeFileSync(join(files, "app.pem"), privateKey);
  writeFileSync(join(files, "webhook-secret"), secret);
  copyFileSync(sshd.clientKeyPath, join(files, "ssh-key"));
  copyFileSync(sshd.knownHostsPath, join(files, "known_hosts"));
  await podman(["cp", `${files}/.`, `${name}:/etc/pyci/`]);
  await inside("chown -R root:root /etc/pyci && chmod 700 /etc/pyci && chmod 600 /etc/pyci/*");
  const verify = await inside("systemd-analyze verify pyci.service 2>&1");
  if (verify !== "") throw new Error(`systemd-analyze verify pyci.service says:\n${verify}`);
  await timed("systemctl start pyci", () => inside("systemctl start pyci", TIMEOUT_MS.start));

  // 2.
  await timed("start until /healthz answers 200", () =>
    until("GET /healthz answers 200", TIMEOUT_MS.start, async () => {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) });
      return res.status === 200 ? true : undefined;
    }),
  );
  const journal = await inside("journalctl -u pyci --no-pager -o cat");
  for (const line of journal.split("\n").filter((l) => /sandbox|cgroup/.test(l))) console.log(`systemd-test: ${line}`);
  if (!journal.includes("code under test sandbox"))
    throw new Error("the journal does not say which sandbox builds get");

  // 3.
  const payload = pullRequestPayload({
    ...{ action: "opened", owner: "acme", repo: "widgets", number: 7, headSha: repo.sha },
    ...{ sshUrl: sshd.sshUrl(repo.dir), cloneUrl: "http://127.0.0.1:9/acme/widgets.git", installationId: 92 },
  });
  const finals = await timed("delivery until ci/check and ci/test are final", async () => {
    const res = await sendWebhook({ url: `${url}/api/github/webhooks`, secret, event: "pull_request", payload });
    if (res.status < 200 || res.status >= 300) throw new Error(`the delivery was answered ${res.status}: ${res.body}`);
    return until("ci/check and ci/test are final", TIMEOUT_MS.build, async () => {
      const statuses = ["ci/check", "ci/test"].map((context) => latestStatus(fake.statuses, repo.sha, context));
      return statuses.every((s) => s && s.body.state !== "pending") ? statuses.map((s) => s!.body) : undefined;
    });
  });
  for (const status of finals) console.log(`systemd-test: ${status.context}: ${status.state} (${status.description})`);
  if (!finals.every((s) => s.state === "success")) throw new Error("a status is not success (the step logs say why)");

  // 4.
  const backup = await timed("pyci backup while the service runs", () =>
    inside(
      "install -d -o pyci -g pyci -m 0700 /var/backups/pyci && cd / && runuser -u pyci -- env CI_DATA_DIR=/var/lib/pyci pyci backup /var/backups/pyci/now",
    ),
  );
  console.log(`systemd-test: ${backup}`);
  if (!/: 1 build\(s\)/.test(backup)) throw new Error(`pyci backup did not copy the one build: ${backup}`);

  // 5.
  await timed("systemctl stop pyci", () => inside("systemctl stop pyci", TIMEOUT_MS.stop));
  const ended = await inside("systemctl show pyci -p Result -p ExecMainStatus -p ActiveState");
  console.log(`systemd-test: after systemctl stop: ${ended.replace(/\n/g, ", ")}`);
  if (!ended.includes("Result=success") || !ended.includes("ExecMainStatus=0"))
    throw new Error(`the service did not end cleanly on systemctl stop: ${ended}`);
} catch (error) {
  failed = true;
  console.error(`systemd-test: ${(error as Error).message}`);
  const journal = await inside("journalctl -u pyci --no-pager -o cat | tail -n 80").catch(() => "(no journal)");
  console.error(`--- journalctl -u pyci ---\n${journal}`);
  const steps = await inside('find /var/lib/pyci/logs -name "*.log" -exec tail -n 30 {} +').catch(() => "");
  if (steps) console.error(`--- the builds' step logs ---\n${steps}`);
} finally {
  await podman(["rm", "--force", "--volumes", "--ignore", name], 120_000).catch(() => undefined);
  await Promise.allSettled([fake.stop(), sshd.stop()]);
  repo.remove();
  rmSync(files, { recursive: true, force: true });
}
if (!failed && fake.violations.length > 0) {
  failed = true;
  console.error(`systemd-test: the fake GitHub saw requests GitHub would refuse:\n${fake.violations.join("\n")}`);
}
report();
process.exit(failed ? 1 : 0);
