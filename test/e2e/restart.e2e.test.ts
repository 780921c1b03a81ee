import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BuildStore } from "../../src/store/build-store.js";
import { generateAppKey } from "../support/app-key.js";
import { startFakeGitHub, type FakeGitHub, type StatusRecord } from "../support/fake-github.js";
import { makeRepo, type TestRepo } from "../support/git-repo.js";
import { pullRequestPayload } from "../support/payloads.js";
import { parsePrometheusText, sampleValue } from "../support/prometheus-text.js";
import {
  eventually,
  freePort,
  processesUnder,
  spawnServer,
  waitUntilServing,
  type ServerProcess,
  productionEnv,
} from "../support/server-process.js";
import { startSshd, type TestSshd } from "../support/sshd.js";
import { sendWebhook } from "../support/webhook.js";

/**
 * The real server process (`node dist/server.js`, as server.e2e.test.ts starts it) killed with
 * SIGKILL in the middle of a build, then started again on the same CI_DATA_DIR and CI_WORK_DIR.
 * Needs `npm run build` first.
 */

const APP_ID = 5151;
const INSTALLATION_ID = 91;
const OWNER = "acme";
const REPO = "sleepy";
/** A test that is still running when the server is killed (12 s: its second run, after the restart, must finish too). */
const PROJECT = {
  "calc.py": "def add(a: int, b: int) -> int:\n    return a + b\n",
  "test_slow.py": [
    "import time",
    "import unittest",
    "",
    "",
    "class SlowTest(unittest.TestCase):",
    "    def test_slow(self):",
    "        print('sleeping', flush=True)",
    "        time.sleep(12)",
    "",
  ].join("\n"),
};

/** Whether a process runs (a zombie nobody reaped does not). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

// with the spawn helper (the default) a kill -9 of the server leaves nothing running; without it, the step runs on
describe.each([{ helper: true }, { helper: false }])(
  "a kill -9 and a restart of the server (spawn helper: $helper)",
  ({ helper }) => {
    const privateKey = generateAppKey();
    const secret = `pyci-restart-${randomBytes(18).toString("base64url")}`;
    const adminToken = `admin-${randomBytes(24).toString("base64url")}`;
    let fake: FakeGitHub;
    let sshd: TestSshd;
    let repo: TestRepo;
    let env: Record<string, string>;
    let cwd: string;
    const dirs: string[] = [];
    const servers: ServerProcess[] = [];
    const tempDir = (prefix: string) => {
      const dir = mkdtempSync(join(tmpdir(), prefix));
      dirs.push(dir);
      return dir;
    };
    const start = () => {
      const server = spawnServer(env, cwd);
      servers.push(server);
      return server;
    };
    const latest = (context: string): StatusRecord | undefined =>
      fake.statuses.filter((s) => s.sha === repo.sha && s.body.context === context).at(-1);
    const checkouts = () => readdirSync(env.CI_WORK_DIR!).filter((name) => name.startsWith("pyci-build-"));

    beforeAll(async () => {
      [fake, sshd] = await Promise.all([startFakeGitHub({ appId: APP_ID, privateKey }), startSshd()]);
      repo = makeRepo(PROJECT);
      cwd = tempDir("pyci-restart-cwd-");
      const port = await freePort();
      env = {
        ...productionEnv(),
        APP_ID: String(APP_ID),
        PRIVATE_KEY: privateKey,
        WEBHOOK_SECRET: secret,
        PORT: String(port),
        GHE_HOST: fake.host,
        CI_PUBLIC_URL: `http://127.0.0.1:${port}`,
        CI_DATA_DIR: tempDir("pyci-restart-data-"),
        CI_WORK_DIR: tempDir("pyci-restart-work-"),
        CI_SSH_KEY_PATH: sshd.clientKeyPath,
        CI_SSH_KNOWN_HOSTS: sshd.knownHostsPath,
        CI_CONCURRENCY: "2",
        CI_ADMIN_TOKEN: adminToken,
        // what a kill -9 leaves running is an unsandboxed step's (bwrap's die-with-parent leaves nothing)
        CI_SANDBOX: "off",
        ...(helper ? {} : { PYCI_SPAWN_HELPER: "0" }),
      };
    }, 30_000);

    afterAll(async () => {
      await Promise.allSettled(servers.map((s) => s.stop()));
      // the killed server's test step runs on in its own process group: end it (by pid) before removing its dirs
      for (const pid of env ? processesUnder(env.CI_WORK_DIR!) : []) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
      await Promise.allSettled([sshd?.stop(), fake?.stop()]);
      repo?.remove();
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    });

    it("runs the interrupted build again after the restart, on the same check run, and cleans up", async () => {
      const startedAt = Date.now();
      const first = start();
      await waitUntilServing(first, "/ping");

      // 1. a pull request whose test sleeps for 12 s
      const payload = pullRequestPayload({
        action: "opened",
        owner: OWNER,
        repo: REPO,
        number: 4,
        headSha: repo.sha,
        sshUrl: sshd.sshUrl(repo.dir),
        cloneUrl: "http://127.0.0.1:9/acme/sleepy.git",
        installationId: INSTALLATION_ID,
        title: "Slow tests",
      });
      const res = await sendWebhook({
        url: `${first.url}/api/github/webhooks`,
        secret,
        event: "pull_request",
        payload,
      });
      expect(res.status, res.body).toBeLessThan(300);

      // 2. the build is running: its check run is in progress, the tests are sleeping
      await fake.waitFor(() => fake.checkRuns.some((r) => r.fields.status === "in_progress"), 30_000);
      const buildUrl = latest("ci/test")!.body.target_url as string;
      const id = buildUrl.split("/").at(-1)!;
      const testLog = join(env.CI_DATA_DIR!, "logs", id, "test.log");
      await eventually(
        () => existsSync(testLog) && readFileSync(testLog, "utf8").includes("sleeping"),
        30_000,
        "the test step prints 'sleeping'",
      );
      expect(checkouts()).toHaveLength(1);
      expect(latest("ci/check")!.body.state).toBe("pending");
      expect(latest("ci/test")!.body.state).toBe("pending");

      // the running server's metrics: the delivery, an ignored one, the finished checkout, the running build
      const edited = await sendWebhook({
        url: `${first.url}/api/github/webhooks`,
        secret,
        event: "pull_request",
        payload: { ...payload, action: "edited" },
      });
      expect(edited.status).toBeLessThan(300);
      const auth = { authorization: `Bearer ${adminToken}` };
      const before = parsePrometheusText(await (await fetch(`${first.url}/metrics`, { headers: auth })).text());
      expect(sampleValue(before, "pyci_webhook_deliveries_total", { event: "pull_request", outcome: "accepted" })).toBe(
        1,
      );
      expect(sampleValue(before, "pyci_webhook_deliveries_total", { event: "pull_request", outcome: "ignored" })).toBe(
        1,
      );
      expect(sampleValue(before, "pyci_step_duration_seconds_count", { step: "checkout", state: "success" })).toBe(1);
      expect(sampleValue(before, "pyci_builds", { state: "running" })).toBe(1);
      expect(sampleValue(before, "pyci_builds_running")).toBe(1);

      // 3. kill -9: nothing is reported, the checkout stays behind
      await first.kill9();
      const killedAt = Date.now();
      expect(fake.checkRuns[0]!.fields.status).toBe("in_progress");
      expect(checkouts()).toHaveLength(1);
      const leftovers = processesUnder(env.CI_WORK_DIR!);
      if (helper) {
        // the spawn helper saw its server go, and killed the step's processes
        await eventually(
          () => processesUnder(env.CI_WORK_DIR!).length === 0,
          10_000,
          "the spawn helper killed the step",
        );
      } else {
        expect(leftovers.length, "the killed server's test step runs on").toBeGreaterThan(0);
      }

      // 4. started again on the same data and work dirs: the build is queued again and runs to its end
      const second = start();
      await waitUntilServing(second, "/ping");
      // what the killed process left running is killed before the build runs again
      await eventually(() => leftovers.every((pid) => !running(pid)), 10_000, "the leftover processes are gone");
      await fake.waitFor(
        () =>
          ["ci/check", "ci/test"].every((c) => latest(c)?.body.state === "success") &&
          fake.checkRuns[0]!.fields.status === "completed",
        45_000,
      );
      const resumedMs = Date.now() - killedAt;

      expect(latest("ci/test")!.body).toEqual({
        context: "ci/test",
        state: "success",
        description: "1 test passed",
        target_url: buildUrl,
      });
      // the same check run, completed: none left open, none created twice
      expect(fake.checkRuns).toHaveLength(1);
      expect(fake.checkRuns[0]!.fields).toMatchObject({ external_id: id, status: "completed", conclusion: "success" });
      // every status sent after the restart is pending or final: nothing pending at the end
      expect(fake.statuses.filter((s) => s.sha === repo.sha).map((s) => s.body.state)).not.toContain("error");
      await eventually(() => checkouts().length === 0, 10_000, "no checkout left");

      // 5. the store says success after two attempts, and so do the API and the metrics of the new process
      await eventually(
        () => {
          const store = new BuildStore(env.CI_DATA_DIR!);
          try {
            return store.get(id)?.state === "success";
          } finally {
            store.close();
          }
        },
        10_000,
        "the build is recorded as success",
      );
      const store = new BuildStore(env.CI_DATA_DIR!);
      const record = store.get(id)!;
      store.close();
      expect(record).toMatchObject({ state: "success", attempts: 2 });
      expect(record.steps.map((s) => s.name)).toContain("test");
      expect(record.steps.filter((s) => s.name === "checkout")).toHaveLength(1);

      const api = await fetch(`${second.url}/api/builds/${id}`, { headers: auth });
      expect(api.status).toBe(200);
      expect(await api.json()).toMatchObject({ id, state: "success", url: buildUrl });
      expect((await fetch(`${second.url}/api/builds/${id}`)).status).toBe(401);
      const health = await fetch(`${second.url}/healthz`);
      expect([health.status, await health.text()]).toEqual([200, "ok\n"]);
      const metrics = parsePrometheusText(await (await fetch(`${second.url}/metrics`, { headers: auth })).text());
      expect(sampleValue(metrics, "pyci_builds", { state: "success" })).toBe(1);
      expect(sampleValue(metrics, "pyci_builds", { state: "running" })).toBe(0);

      // 6. GitHub got only valid requests; no secret reached the logs
      expect(fake.violations).toEqual([]);
      expect(fake.unexpected.map((r) => `${r.method} ${r.url}`)).toEqual([]);
      for (const server of servers) {
        expect(fake.leakedTokens(server.output())).toEqual([]);
        expect(server.output()).not.toContain(secret);
        expect(server.output()).not.toContain(adminToken);
      }
      expect(second.output()).toContain("build interrupted by a restart queued again");
      expect(second.alive()).toBe(true);
      console.info(
        `restart e2e: killed ${killedAt - startedAt} ms after start, finished ${resumedMs} ms after the kill, test ${Date.now() - startedAt} ms`,
      );
    }, 90_000);
  },
);
