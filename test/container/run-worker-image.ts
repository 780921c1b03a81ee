import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateAppKey } from "../support/app-key.js";
import { startFakeGitHub } from "../support/fake-github.js";
import { makeRepo } from "../support/git-repo.js";
import { pullRequestPayload } from "../support/payloads.js";
import { startRedis } from "../support/redis-server.js";
import { freePort, productionEnv, spawnServer, waitUntilServing } from "../support/server-process.js";
import { startSshd } from "../support/sshd.js";
import { until } from "../support/until.js";
import { phaseTimes, podman } from "./container-script.js";
import { deliverUntilFinal, runImageDetached, SECRETS, writeImageSecrets } from "./image-run.js";
import { probeProject } from "./probe-project.js";

/**
 * `npx vite-node test/container/run-worker-image.ts <image> [podman run options…]` (.ci/container-test,
 * after `npm run build`): the image as compose.yaml's `worker` service runs it, `pyci worker` with only
 * CI_REDIS_URL and its own SSH key, on the host's network, taking a build from a real redis-server
 * (password, AOF) that the real server on the host (`dist/server.js`, CI_REDIS_URL) hands it:
 * 1. the worker says it is ready; 2. a signed pull_request delivery ends ci/check and ci/test
 * `success` (the sandbox probes of run-image.ts), the build page naming the container's worker;
 * 3. `podman stop` (SIGTERM): it exits 0. Exits 1, with the worker's log, when a step fails.
 */

const [image, ...runOptions] = process.argv.slice(2);
if (!image) throw new Error("usage: run-worker-image.ts <image> [podman run options…]");

const APP_ID = 4343;
const WORKER = "container-worker";
const { timed, report } = phaseTimes("container-test worker");

const privateKey = generateAppKey();
const secret = `pyci-container-${randomBytes(18).toString("base64url")}`;
const [fake, sshd, redis] = await Promise.all([
  startFakeGitHub({ appId: APP_ID, privateKey }),
  startSshd(),
  startRedis(),
]);
const repo = makeRepo(probeProject(SECRETS));
const dirs = ["secrets", "data", "work", "cwd"].map((d) => mkdtempSync(join(tmpdir(), `pyci-worker-image-${d}-`)));
const [secrets, dataDir, workDir, cwd] = dirs as [string, string, string, string];
const name = `pyci-worker-test-${randomBytes(6).toString("hex")}`;
const port = await freePort();
const server = spawnServer(
  {
    ...productionEnv(),
    APP_ID: String(APP_ID),
    PRIVATE_KEY: privateKey,
    WEBHOOK_SECRET: secret,
    PORT: String(port),
    GHE_HOST: fake.host,
    CI_PUBLIC_URL: `http://127.0.0.1:${port}`,
    CI_DATA_DIR: dataDir,
    CI_WORK_DIR: workDir,
    CI_REDIS_URL: redis.url,
  },
  cwd,
);
let failed = false;
try {
  await waitUntilServing(server, "/ping");
  await writeImageSecrets(image, secrets, {
    "ssh-key": { copy: sshd.clientKeyPath },
    known_hosts: { copy: sshd.knownHostsPath },
  });
  const env = {
    CI_REDIS_URL: redis.url,
    CI_WORKER_NAME: WORKER,
    CI_SSH_KEY_PATH: `${SECRETS}/ssh-key`,
    CI_SSH_KNOWN_HOSTS: `${SECRETS}/known_hosts`,
    CI_BUILD_PROCESSES: "1024",
  };
  await runImageDetached({ name, image, secrets, env, runOptions, command: ["pyci", "worker"] });

  // 1.
  await timed("start until the worker is ready", () =>
    until("the worker says it is ready", 60_000, async () =>
      (await podman(["logs", name])).stdout.includes("pyci worker ready") ? true : undefined,
    ),
  );
  // 2.
  const payload = pullRequestPayload({
    action: "opened",
    owner: "acme",
    repo: "widgets",
    number: 8,
    headSha: repo.sha,
    sshUrl: sshd.sshUrl(repo.dir),
    cloneUrl: "http://127.0.0.1:9/acme/widgets.git",
    installationId: 92,
  });
  const finals = await timed("delivery until ci/check and ci/test are final", () =>
    deliverUntilFinal(fake, { url: server.url, secret, payload, sha: repo.sha, timeoutMs: 180_000 }),
  );
  for (const status of finals)
    console.log(`container-test worker: ${status.context}: ${status.state} (${status.description})`);
  if (!finals.every((s) => s.state === "success")) throw new Error("a status is not success (the build page says why)");
  const page = await (await fetch(String(finals[0]!.target_url))).text();
  if (!page.includes(`on ${WORKER}`)) throw new Error(`the build page does not name ${WORKER}`);
  // 3.
  await timed("podman stop (SIGTERM)", () => podman(["stop", "--time", "80", name], 100_000));
  const { stdout: exitCode } = await podman(["inspect", "--format", "{{.State.ExitCode}}", name]);
  if (exitCode.trim() !== "0") throw new Error(`the worker exited with code ${exitCode.trim()} on SIGTERM, 0 expected`);
} catch (error) {
  failed = true;
  console.error(`container-test worker: ${(error as Error).message}`);
  const logs = await podman(["logs", name]).catch(() => ({ stdout: "", stderr: "(no container log)" }));
  console.error(
    `--- the worker's log ---\n${logs.stdout}${logs.stderr}\n--- the server's log ---\n${server.output().slice(-6000)}`,
  );
} finally {
  await podman(["rm", "--force", "--volumes", "--ignore", name]).catch(() => undefined);
  await server.stop();
  await Promise.allSettled([fake.stop(), sshd.stop(), redis.stop()]);
  repo.remove();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
}
report();
process.exit(failed ? 1 : 0);
