import { randomBytes } from "node:crypto";
import { chmodSync, chownSync, copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
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
 * `npx vite-node test/container/run-image.ts <image> [podman run options…]` (.ci/container-test):
 * pyci's image as a user runs it, against the fake GitHub API and a real sshd on the host's loopback
 * (the container shares the host's network). Its steps, each timed:
 * 1. the container starts with the App's key, the webhook secret and the SSH key as files in a
 *    secrets directory (owned by the image's user, 0600), and answers GET /healthz;
 * 2. podman's own HEALTHCHECK run (the image's command) passes; the log names the sandbox builds get;
 * 3. a signed pull_request delivery: ci/check and ci/test end `success`. The repository's tests are
 *    probes of the sandbox: they fail where the code under test can read the App's key or the
 *    database, or sees the server's environment (with CI_SANDBOX=off, two of them fail);
 * 4. `podman stop` (SIGTERM): the server exits 0 within the stop timeout.
 * Exits 1, with the container's log, when a step fails.
 */

const [image, ...runOptions] = process.argv.slice(2);
if (!image) throw new Error("usage: run-image.ts <image> [podman run options…]");

const APP_ID = 4343;
const INSTALLATION_ID = 91;
const OWNER = "acme";
const REPO = "widgets";
/** Inside the container: mounted read-only. */
const SECRETS = "/run/pyci-secrets";
/** Without them runc cannot set podman's defaults for RLIMIT_NOFILE and RLIMIT_NPROC here (above the host's hard limits). */
const ULIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"];
const STEP_TIMEOUT_MS = { start: 60_000, build: 180_000, stop: 100_000 };

/** Prints the end of each step log in the data dir. */
const STEP_LOGS = 'find /var/lib/pyci -name "*.log" -type f | while read -r f; do echo "== $f"; tail -n 40 "$f"; done';

const { timed, report } = phaseTimes("container-test");

const privateKey = generateAppKey();
const secret = `pyci-container-${randomBytes(18).toString("base64url")}`;
const [fake, sshd] = await Promise.all([startFakeGitHub({ appId: APP_ID, privateKey }), startSshd()]);
const repo = makeRepo(probeProject(SECRETS));
const secrets = mkdtempSync(join(tmpdir(), "pyci-container-secrets-"));
const name = `pyci-container-test-${randomBytes(6).toString("hex")}`;
let failed = false;
try {
  // the image's user must own its secrets: pyci refuses key files that others can read
  const { stdout: ids } = await podman([
    "run",
    "--rm",
    "--pull=never",
    "--no-healthcheck",
    ...ULIMITS,
    "--entrypoint",
    "sh",
    image,
    "-c",
    "id -u && id -g",
  ]);
  const [uid, gid] = ids.trim().split("\n").map(Number) as [number, number];
  writeFileSync(join(secrets, "app.pem"), privateKey);
  writeFileSync(join(secrets, "webhook-secret"), secret);
  copyFileSync(sshd.clientKeyPath, join(secrets, "ssh-key"));
  copyFileSync(sshd.knownHostsPath, join(secrets, "known_hosts"));
  for (const file of ["app.pem", "webhook-secret", "ssh-key", "known_hosts"]) {
    chownSync(join(secrets, file), uid, gid);
    chmodSync(join(secrets, file), 0o600);
  }
  chownSync(secrets, uid, gid);
  chmodSync(secrets, 0o700);

  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env = {
    APP_ID: String(APP_ID),
    PRIVATE_KEY_PATH: `${SECRETS}/app.pem`,
    WEBHOOK_SECRET_FILE: `${SECRETS}/webhook-secret`,
    PORT: String(port),
    GHE_HOST: fake.host,
    GHE_PROTOCOL: "http",
    CI_PUBLIC_URL: url,
    CI_SSH_KEY_PATH: `${SECRETS}/ssh-key`,
    CI_SSH_KNOWN_HOSTS: `${SECRETS}/known_hosts`,
    LOG_LEVEL: "info",
    // not above the container's RLIMIT_NPROC (ULIMITS): pyci, not root, cannot raise a hard limit for a build
    CI_BUILD_PROCESSES: "1024",
  };
  await podman([
    "run",
    "--detach",
    "--name",
    name,
    "--pull=never",
    "--network",
    "host",
    ...ULIMITS,
    // podman runs a HEALTHCHECK through systemd timers, and there is no systemd here: step 2 runs it
    "--health-interval",
    "disable",
    "--volume",
    `${secrets}:${SECRETS}:ro`,
    ...Object.entries(env).flatMap(([key, value]) => ["--env", `${key}=${value}`]),
    ...runOptions,
    image,
  ]);

  // 1.
  await timed("start until /healthz answers 200", () =>
    until("GET /healthz answers 200", STEP_TIMEOUT_MS.start, async () => {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) });
      return res.status === 200 ? true : undefined;
    }),
  );

  // 2.
  await timed("podman healthcheck run", () => podman(["healthcheck", "run", name]));
  const { stdout: startLog } = await podman(["logs", name]);
  const sandbox = startLog.split("\n").find((line) => line.includes("code under test sandbox"));
  if (!sandbox) throw new Error("the server log does not say which sandbox builds get");
  console.log(`container-test: ${sandbox}`);

  // 3.
  const payload = pullRequestPayload({
    action: "opened",
    owner: OWNER,
    repo: REPO,
    number: 7,
    headSha: repo.sha,
    sshUrl: sshd.sshUrl(repo.dir),
    cloneUrl: `http://127.0.0.1:9/${OWNER}/${REPO}.git`,
    installationId: INSTALLATION_ID,
  });
  const finals = await timed("delivery until ci/check and ci/test are final", async () => {
    const res = await sendWebhook({ url: `${url}/api/github/webhooks`, secret, event: "pull_request", payload });
    if (res.status < 200 || res.status >= 300) throw new Error(`the delivery was answered ${res.status}: ${res.body}`);
    return until("ci/check and ci/test are final", STEP_TIMEOUT_MS.build, async () => {
      const statuses = ["ci/check", "ci/test"].map((context) => latestStatus(fake.statuses, repo.sha, context));
      return statuses.every((s) => s && s.body.state !== "pending") ? statuses.map((s) => s!.body) : undefined;
    });
  });
  for (const status of finals)
    console.log(`container-test: ${status.context}: ${status.state} (${status.description})`);
  if (!finals.every((s) => s.state === "success")) throw new Error("a status is not success (the build page says why)");
  // what GitHub would have refused or not known: the same rules as the e2e tests'
  if (fake.violations.length > 0 || fake.unexpected.length > 0)
    throw new Error(
      `the fake GitHub saw requests GitHub would refuse:\n${[...fake.violations, fake.summary()].join("\n")}`,
    );

  // 4.
  await timed("podman stop (SIGTERM)", () =>
    podman(["stop", "--time", String(STEP_TIMEOUT_MS.stop / 1000 - 10), name], STEP_TIMEOUT_MS.stop),
  );
  const { stdout: exitCode } = await podman(["inspect", "--format", "{{.State.ExitCode}}", name]);
  if (exitCode.trim() !== "0") throw new Error(`the server exited with code ${exitCode.trim()} on SIGTERM, 0 expected`);
} catch (error) {
  failed = true;
  console.error(`container-test: ${(error as Error).message}`);
  const logs = await podman(["logs", name]).catch(() => ({ stdout: "", stderr: "(no container log)" }));
  console.error(`--- the container's log ---\n${logs.stdout}${logs.stderr}`);
  // the steps' logs, where a build ran: what the build page would show
  const steps = await podman(["exec", name, "sh", "-c", STEP_LOGS]).catch(() => ({ stdout: "", stderr: "" }));
  if (steps.stdout) console.error(`--- the builds' step logs ---\n${steps.stdout}`);
} finally {
  await podman(["rm", "--force", "--volumes", "--ignore", name]).catch(() => undefined);
  await Promise.allSettled([fake.stop(), sshd.stop()]);
  repo.remove();
  rmSync(secrets, { recursive: true, force: true });
}
report();
process.exit(failed ? 1 : 0);
