import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateAppKey } from "../support/app-key.js";
import { startFakeGitHub } from "../support/fake-github.js";
import { makeRepo } from "../support/git-repo.js";
import { pullRequestPayload } from "../support/payloads.js";
import { freePort } from "../support/server-process.js";
import { startSshd } from "../support/sshd.js";
import { until } from "../support/until.js";
import { phaseTimes, podman } from "./container-script.js";
import { deliverUntilFinal, runImageDetached, SECRETS, writeImageSecrets } from "./image-run.js";
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
  await writeImageSecrets(image, secrets, {
    "app.pem": { content: privateKey },
    "webhook-secret": { content: secret },
    "ssh-key": { copy: sshd.clientKeyPath },
    known_hosts: { copy: sshd.knownHostsPath },
  });

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
  // with no HEALTHCHECK timer (runImageDetached): step 2 runs the check
  await runImageDetached({ name, image, secrets, env, runOptions });

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
  const finals = await timed("delivery until ci/check and ci/test are final", () =>
    deliverUntilFinal(fake, { url, secret, payload, sha: repo.sha, timeoutMs: STEP_TIMEOUT_MS.build }),
  );
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
