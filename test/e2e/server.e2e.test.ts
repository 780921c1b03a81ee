import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateAppKey } from "../support/app-key.js";
import { startFakeGitHub, type FakeGitHub, latestStatus } from "../support/fake-github.js";
import { makeRepo, type TestRepo } from "../support/git-repo.js";
import { pullRequestPayload } from "../support/payloads.js";
import { startSshd, type TestSshd } from "../support/sshd.js";
import { sendWebhook } from "../support/webhook.js";
import { BuildStore } from "../../src/store/build-store.js";
import {
  eventually,
  freePort,
  sleep,
  spawnServer as spawnServerProcess,
  waitUntilServing,
  type ServerProcess,
  productionEnv,
} from "../support/server-process.js";

/**
 * The real server process, started as the README says (`node dist/server.js`, configured by the
 * environment only), against a fake GitHub API (GHE_HOST) and a real sshd on loopback.
 * Needs `npm run build` first.
 */

const require = createRequire(import.meta.url);

const APP_ID = 4242;
const INSTALLATION_ID = 77;
const OWNER = "acme";
const REPO = "widgets";
const PR = 12;
const BUILD_ID = "[A-Za-z0-9_-]{22}";

/** The line of test_calc.py where test_broken's assertion fails. */
const TEST_LINES = [
  "import unittest",
  "",
  "from calc import add",
  "",
  "",
  "class AddTest(unittest.TestCase):",
  "    def test_adds(self):",
  "        print('adding two and three')",
  "        self.assertEqual(add(2, 3), 5)",
  "",
  "    def test_broken(self):",
  "        print('this one fails on purpose')",
  "        self.assertEqual(add(2, 2), 5)",
  "",
];
const FAILING_LINE = TEST_LINES.indexOf("        self.assertEqual(add(2, 2), 5)") + 1;
const CALC_LINES = [
  "def add(a: int, b: int) -> int:",
  "    return a + b",
  "",
  "",
  "def label(n: int) -> str:",
  "    return n",
  "",
];
const TYPE_ERROR_LINE = CALC_LINES.indexOf("    return n") + 1;
const PROJECT = { "calc.py": CALC_LINES.join("\n"), "test_calc.py": TEST_LINES.join("\n") };
const FAILING_TEST = "test_calc.AddTest.test_broken";

const started: ServerProcess[] = [];

/** `node dist/server.js`, remembered so that every started process is stopped at the end. */
function spawnServer(env: Record<string, string>, cwd: string): ServerProcess {
  const server = spawnServerProcess(env, cwd);
  started.push(server);
  return server;
}

/** Every file under `dir`, as [path, text]; a file removed while the tree is read (a git cache reader let go) is left out. */
function readTree(dir: string): [string, string][] {
  if (!existsSync(dir)) return [];
  const read = (path: string): [string, string][] => {
    try {
      return statSync(path).isFile() ? [[path, readFileSync(path, "utf8")]] : [];
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw error;
    }
  };
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).flatMap((name) => read(join(dir, name)));
}

function checkoutDirs(workDir: string): string[] {
  return readdirSync(workDir).filter((name) => name.startsWith("pyci-build-"));
}

function removeAll(dirs: (string | undefined)[]): void {
  for (const dir of dirs) if (dir) rmSync(dir, { recursive: true, force: true });
}

describe("the pyci server process (node dist/server.js)", () => {
  const privateKey = generateAppKey();
  const secret = `pyci-e2e-${randomBytes(18).toString("base64url")}`;
  let fake: FakeGitHub;
  let sshd: TestSshd;
  let repo: TestRepo;
  let server: ServerProcess;
  let cwd: string;
  let dataDir: string;
  let workDir: string;
  let publicUrl: string;
  let hookUrl: string;
  /** The first build, shared with the second test. */
  let first: { url: string; id: string } | undefined;

  const payloadFor = (action: string, headSha: string) =>
    pullRequestPayload({
      action,
      owner: OWNER,
      repo: REPO,
      number: PR,
      headSha,
      sshUrl: sshd.sshUrl(repo.dir),
      cloneUrl: "http://127.0.0.1:9/acme/widgets.git",
      installationId: INSTALLATION_ID,
      title: "Add label()",
    });

  /** The builds the server recorded, read from its database. */
  const buildDirs = () => {
    if (!existsSync(join(dataDir, "pyci.db"))) return [];
    const store = new BuildStore(dataDir);
    try {
      return store.list({ limit: 500 }).map((b) => b.id);
    } finally {
      store.close();
    }
  };

  beforeAll(async () => {
    [fake, sshd] = await Promise.all([startFakeGitHub({ appId: APP_ID, privateKey }), startSshd()]);
    repo = makeRepo(PROJECT);
    cwd = mkdtempSync(join(tmpdir(), "pyci-e2e-cwd-"));
    dataDir = mkdtempSync(join(tmpdir(), "pyci-e2e-data-"));
    workDir = mkdtempSync(join(tmpdir(), "pyci-e2e-work-"));
    // what a killed server leaves behind: swept at start-up
    mkdirSync(join(workDir, "pyci-build-stale", "src"), { recursive: true });
    writeFileSync(join(workDir, "pyci-build-stale", "src", "left.py"), "x = 1\n");

    const port = await freePort();
    publicUrl = `http://127.0.0.1:${port}`;
    hookUrl = `${publicUrl}/api/github/webhooks`;
    server = spawnServer(
      {
        ...productionEnv(),
        APP_ID: String(APP_ID),
        PRIVATE_KEY: privateKey,
        WEBHOOK_SECRET: secret,
        PORT: String(port),
        GHE_HOST: fake.host,
        CI_PUBLIC_URL: publicUrl,
        CI_DATA_DIR: dataDir,
        CI_WORK_DIR: workDir,
        CI_SSH_KEY_PATH: sshd.clientKeyPath,
        CI_SSH_KNOWN_HOSTS: sshd.knownHostsPath,
        CI_CONCURRENCY: "2",
      },
      cwd,
    );
    const ping = await waitUntilServing(server, "/ping");
    expect(ping.status).toBe(200);
  }, 30_000);

  afterAll(async () => {
    await Promise.allSettled([server?.stop(), sshd?.stop(), fake?.stop()]);
    repo?.remove();
    removeAll([cwd, dataDir, workDir]);
  });

  it("builds a pull request: pending, then statuses, a check run with annotations, and a build page", async () => {
    const startedAt = Date.now();
    // swept at start-up
    expect(existsSync(join(workDir, "pyci-build-stale"))).toBe(false);
    expect(server.output()).toContain("removed 1 checkout(s) left behind by an earlier run");

    // 1. the delivery is acknowledged at once; the build runs in the background
    const sent = Date.now();
    const res = await sendWebhook({
      url: hookUrl,
      secret,
      event: "pull_request",
      payload: payloadFor("opened", repo.sha),
    });
    const ackMs = Date.now() - sent;
    expect(res.status, res.body).toBeGreaterThanOrEqual(200);
    expect(res.status).toBeLessThan(300);
    expect(ackMs).toBeLessThan(3000);

    // 2. both statuses go pending, linking to the build page
    await fake.waitFor(() => ["ci/check", "ci/test"].every((c) => latestStatus(fake.statuses, repo.sha, c)), 15_000);
    const pending = fake.statuses.filter((s) => s.sha === repo.sha).slice(0, 2);
    expect(pending.map((s) => s.body.context).sort()).toEqual(["ci/check", "ci/test"]);
    for (const s of pending) {
      expect(s.owner).toBe(OWNER);
      expect(s.repo).toBe(REPO);
      expect(s.body.state).toBe("pending");
      expect(s.body.description).toBe("Queued");
      expect(s.body.target_url).toMatch(new RegExp(`^${publicUrl}/builds/${BUILD_ID}$`));
    }
    const buildUrl = pending[0]!.body.target_url as string;
    expect(pending[1]!.body.target_url).toBe(buildUrl);
    const id = buildUrl.slice(`${publicUrl}/builds/`.length);
    const pendingMs = Date.now() - sent;

    // 3. the final statuses and the completed check run
    await fake.waitFor(
      () =>
        fake.checkRuns.some((r) => r.fields.status === "completed") &&
        ["ci/check", "ci/test"].every((c) => latestStatus(fake.statuses, repo.sha, c)?.body.state !== "pending"),
      60_000,
    );
    const buildMs = Date.now() - sent;
    const check = latestStatus(fake.statuses, repo.sha, "ci/check")!.body;
    expect(check.state, JSON.stringify(check)).toBe("success");
    expect(check.description).toMatch(/not enforced/);
    expect(check.target_url).toBe(buildUrl);
    const test = latestStatus(fake.statuses, repo.sha, "ci/test")!.body;
    expect(test.state, JSON.stringify(test)).toBe("failure");
    expect(test.description).toBe("1 failure in 2 tests");
    expect(test.target_url).toBe(buildUrl);
    expect(fake.statuses.filter((s) => s.sha === repo.sha)).toHaveLength(4);

    expect(fake.checkRuns).toHaveLength(1);
    const run = fake.checkRuns[0]!;
    expect([run.owner, run.repo]).toEqual([OWNER, REPO]);
    expect(run.history[0]).toMatchObject({ name: "pyci", head_sha: repo.sha, details_url: buildUrl, external_id: id });
    expect(run.fields).toMatchObject({ name: "pyci", head_sha: repo.sha, status: "completed", conclusion: "failure" });
    const output = run.fields.output as { title: string; summary: string };
    expect(output.summary).toContain(FAILING_TEST);
    expect(output.summary).toContain(`test_calc.py:${FAILING_LINE}`);
    expect(output.summary).toContain(buildUrl);
    expect(run.annotations).toContainEqual(
      expect.objectContaining({
        path: "test_calc.py",
        start_line: FAILING_LINE,
        end_line: FAILING_LINE,
        annotation_level: "failure",
      }),
    );
    expect(run.annotations).toContainEqual(
      expect.objectContaining({ path: "calc.py", start_line: TYPE_ERROR_LINE, annotation_level: "warning" }),
    );
    expect(run.annotations).toHaveLength(2);

    // 4. everything sent was valid GitHub API input, to routes GitHub has
    expect(fake.violations).toEqual([]);
    expect(fake.unexpected.map((r) => `${r.method} ${r.url}`)).toEqual([]);
    expect(fake.issuedTokens.length).toBeGreaterThan(0);
    expect(fake.issuedTokens.every((t) => t.installationId === INSTALLATION_ID)).toBe(true);

    // 5. the build page and the raw log
    const page = await fetch(buildUrl);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await page.text();
    expect(html).toContain(FAILING_TEST);
    expect(html).toContain("Traceback (most recent call last)");
    expect(html).toContain("AssertionError: 4 != 5");
    expect(html).toContain("this one fails on purpose"); // the test step's console output
    expect(html).toContain("adding two and three");
    const log = await fetch(`${buildUrl}/test.log`);
    expect(log.status).toBe(200);
    expect(log.headers.get("content-type")).toMatch(/^text\/plain/);
    const logText = await log.text();
    expect(logText).toContain("this one fails on purpose");
    expect(logText).toContain(FAILING_TEST.split(".").at(-1));
    const madeUp = await fetch(`${publicUrl}/builds/${randomBytes(16).toString("base64url")}`);
    expect(madeUp.status).toBe(404);
    expect((await fetch(`${publicUrl}/builds/${randomBytes(16).toString("base64url")}/test.log`)).status).toBe(404);

    // 6. no checkout outlives its build
    await eventually(
      () => checkoutDirs(workDir).length === 0,
      10_000,
      `checkouts left in ${workDir}: ${checkoutDirs(workDir).join(", ")}`,
    );

    // 7. no secret anywhere: logs, stored files, the page
    const keyBody = privateKey.split("\n").filter((l) => l.length >= 16 && !l.startsWith("-----"));
    const places: [string, string][] = [
      ["server output", server.output()],
      ["build page", html],
      ["test.log", logText],
      ...readTree(dataDir),
    ];
    expect(places.length).toBeGreaterThan(3);
    for (const [where, text] of places) {
      expect(fake.leakedTokens(text), where).toEqual([]);
      expect(text.includes(secret), `webhook secret in ${where}`).toBe(false);
      expect(
        keyBody.filter((line) => text.includes(line)),
        `private key in ${where}`,
      ).toEqual([]);
    }

    expect(server.alive()).toBe(true);
    first = { url: buildUrl, id };
    console.info(
      `server e2e: ack ${ackMs} ms, pending after ${pendingMs} ms, finished after ${buildMs} ms, test ${Date.now() - startedAt} ms`,
    );
  }, 90_000);

  it("refuses bad deliveries without touching GitHub, ignores unknown or incomplete ones, and keeps serving", async () => {
    expect(first, "needs the first test's build").toBeDefined();
    const requestsBefore = fake.requests.length;
    const buildsBefore = buildDirs().length;
    const valid = payloadFor("opened", repo.sha);
    const send = (o: Omit<Parameters<typeof sendWebhook>[0], "url" | "secret">) =>
      sendWebhook({ url: hookUrl, secret, ...o });

    // signatures and bodies Probot's middleware refuses
    const refused = [
      [
        "a wrong signature",
        await send({ event: "pull_request", payload: valid, signature: `sha256=${"0".repeat(64)}` }),
      ],
      [
        "a signature made with another secret",
        await sendWebhook({ url: hookUrl, secret: "not-the-secret", event: "pull_request", payload: valid }),
      ],
      ["no signature", await send({ event: "pull_request", payload: valid, signature: null })],
      ["a signed body that is not JSON", await send({ event: "pull_request", rawBody: "{not json" })],
    ] as const;
    for (const [what, res] of refused) {
      expect(res.status, `${what}: ${res.body}`).toBeGreaterThanOrEqual(400);
      expect(res.status, `${what}: ${res.body}`).toBeLessThan(500);
    }

    // signed, but nothing to build: acknowledged (or refused), never a crash
    const definitions = require("@octokit/webhooks-examples") as {
      name: string;
      examples: Record<string, unknown>[];
    }[];
    const star = { ...definitions.find((d) => d.name === "star")!.examples[0]!, installation: { id: INSTALLATION_ID } };
    const noHead = structuredClone(valid) as any;
    delete noHead.pull_request.head;
    const noInstallation = structuredClone(valid) as any;
    delete noInstallation.installation;
    const hostileUrl = structuredClone(valid) as any;
    hostileUrl.repository.ssh_url = "-oProxyCommand=touch /tmp/pyci-pwned";
    const badSha = structuredClone(valid) as any;
    badSha.pull_request.head.sha = "--upload-pack=touch";
    const ignored = [
      ["an unknown event (star)", await send({ event: "star", payload: star }), true],
      ["a pull_request without pull_request.head", await send({ event: "pull_request", payload: noHead }), false],
      ["a pull_request without installation", await send({ event: "pull_request", payload: noInstallation }), false],
      ["a pull_request with an option as ssh_url", await send({ event: "pull_request", payload: hostileUrl }), false],
      ["a pull_request with an option as head sha", await send({ event: "pull_request", payload: badSha }), false],
      ["a bare pull_request", await send({ event: "pull_request", payload: { action: "opened" } }), false],
    ] as const;
    for (const [what, res, mustAccept] of ignored) {
      expect(res.status, `${what}: ${res.body}`).toBeGreaterThanOrEqual(200);
      expect(res.status, `${what}: ${res.body}`).toBeLessThan(mustAccept ? 300 : 500);
    }

    // nothing reached GitHub, nothing was built, the server lives
    await sleep(1500);
    expect(fake.requests.slice(requestsBefore).map((r) => `${r.method} ${r.path}`)).toEqual([]);
    expect(buildDirs()).toHaveLength(buildsBefore);
    expect(server.alive()).toBe(true);
    expect(existsSync("/tmp/pyci-pwned")).toBe(false);
    expect((await fetch(first!.url)).status).toBe(200);

    // a valid delivery still builds: a new commit that fixes the test
    const fixed = repo.commit(
      { "test_calc.py": TEST_LINES.join("\n").replace("add(2, 2), 5", "add(2, 2), 4") },
      "fix the test",
    );
    const res = await send({ event: "pull_request", payload: payloadFor("synchronize", fixed) });
    expect(res.status, res.body).toBeLessThan(300);
    await fake.waitFor(
      () =>
        ["ci/check", "ci/test"].every((c) =>
          ["success", "failure", "error"].includes(String(latestStatus(fake.statuses, fixed, c)?.body.state)),
        ),
      60_000,
    );
    expect(latestStatus(fake.statuses, fixed, "ci/test")!.body).toMatchObject({
      state: "success",
      description: "2 tests passed",
    });
    expect(latestStatus(fake.statuses, fixed, "ci/check")!.body.state).toBe("success");
    await fake.waitFor(
      () => fake.checkRuns.filter((r) => r.fields.head_sha === fixed && r.fields.conclusion === "success").length === 1,
      10_000,
    );
    expect(buildDirs()).toHaveLength(buildsBefore + 1);
    await eventually(() => checkoutDirs(workDir).length === 0, 10_000, "the second build's checkout is removed");

    expect(fake.violations).toEqual([]);
    expect(fake.unexpected.map((r) => `${r.method} ${r.url}`)).toEqual([]);
    for (const [where, text] of [["server output", server.output()], ...readTree(dataDir)] as [string, string][]) {
      expect(fake.leakedTokens(text), where).toEqual([]);
      expect(text.includes(secret), `webhook secret in ${where}`).toBe(false);
    }
    expect(server.alive()).toBe(true);
  }, 90_000);

  it("builds the docs of a merged pull request and publishes them as a release asset, once", async () => {
    const docsRepo = makeRepo({
      ...PROJECT,
      "docs/conf.py": "project = 'widgets'\n",
      "docs/index.rst": "Widgets\n=======\n\n.. toctree::\n\n   usage\n",
      "docs/usage.rst": "Usage\n=====\n\nCall ``add``.\n",
    });
    const mergedPayload = pullRequestPayload({
      action: "closed",
      merged: true,
      mergeCommitSha: docsRepo.sha,
      owner: OWNER,
      repo: REPO,
      number: PR + 1,
      headSha: "2".repeat(40),
      sshUrl: sshd.sshUrl(docsRepo.dir),
      cloneUrl: "http://127.0.0.1:9/acme/widgets.git",
      installationId: INSTALLATION_ID,
      title: "Document add()",
    });
    const tag = `docs-${docsRepo.sha.slice(0, 7)}`;
    const deliveryId = "merged-delivery-1";
    const res = await sendWebhook({ url: hookUrl, secret, event: "pull_request", payload: mergedPayload, deliveryId });
    expect(res.status, res.body).toBeLessThan(300);
    await fake.waitFor(
      () =>
        latestStatus(fake.statuses, docsRepo.sha, "ci/docs")?.body.state !== "pending" &&
        !!latestStatus(fake.statuses, docsRepo.sha, "ci/docs"),
      60_000,
    );
    expect(latestStatus(fake.statuses, docsRepo.sha, "ci/docs")!.body).toMatchObject({
      state: "success",
      description: `Docs built: 2 pages, no warnings; published as release ${tag}`,
    });

    // the asset is a real gzip'd tar holding index.html at its top
    const archive = fake.asset(OWNER, REPO, tag, "docs-html.tar.gz");
    expect(archive).toBeDefined();
    const unpack = mkdtempSync(join(tmpdir(), "pyci-e2e-asset-"));
    writeFileSync(join(unpack, "docs.tar.gz"), archive!);
    const listing = execFileSync("tar", ["-tzf", join(unpack, "docs.tar.gz")], { encoding: "utf8" }).split("\n");
    expect(listing).toContain("index.html");
    expect(listing).toContain("usage.html");
    removeAll([unpack]);
    expect(fake.release(OWNER, REPO, tag)).toMatchObject({ targetCommitish: docsRepo.sha, latest: false });

    // GitHub's manual redelivery (same delivery id) starts nothing
    const statusesBefore = fake.statuses.filter((s) => s.sha === docsRepo.sha).length;
    const requestsBefore = fake.requests.length;
    const again = await sendWebhook({
      url: hookUrl,
      secret,
      event: "pull_request",
      payload: mergedPayload,
      deliveryId,
    });
    expect(again.status).toBeLessThan(300);
    // another delivery of the same merge (a new id) builds again, and still leaves one release with one asset
    const another = await sendWebhook({
      url: hookUrl,
      secret,
      event: "pull_request",
      payload: mergedPayload,
      deliveryId: "merged-delivery-2",
    });
    expect(another.status).toBeLessThan(300);
    await fake.waitFor(
      () =>
        fake.statuses.filter((s) => s.sha === docsRepo.sha).length >= statusesBefore + 2 &&
        latestStatus(fake.statuses, docsRepo.sha, "ci/docs")!.body.state !== "pending",
      60_000,
    );
    expect(
      fake.statuses.filter((s) => s.sha === docsRepo.sha).length,
      "one pending and one final status: the redelivery added none",
    ).toBe(statusesBefore + 2);
    expect(fake.requests.length).toBeGreaterThan(requestsBefore);
    expect(
      fake.releases.filter((r) => r.owner === OWNER && r.repo === REPO && r.tagName.startsWith("docs-")),
    ).toHaveLength(1);
    expect(fake.release(OWNER, REPO, tag)!.assets.map((a) => a.name)).toEqual(["docs-html.tar.gz"]);
    expect(fake.violations).toEqual([]);
    expect(fake.unexpected.map((r) => `${r.method} ${r.url}`)).toEqual([]);
    await eventually(() => checkoutDirs(workDir).length === 0, 10_000, "the docs builds' checkouts are removed");
    docsRepo.remove();
  }, 120_000);
});

describe("starting the server process", () => {
  const dirs: string[] = [];
  const tempDir = (prefix: string) => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(dir);
    return dir;
  };

  afterAll(async () => {
    await Promise.allSettled(started.map((s) => s.stop()));
    removeAll(dirs);
  });

  it("refuses to start in production without WEBHOOK_SECRET, and serves the registration page without credentials", async () => {
    const base = () => ({
      PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
      HOST: "127.0.0.1",
      CI_DATA_DIR: tempDir("pyci-e2e-data-"),
      CI_WORK_DIR: tempDir("pyci-e2e-work-"),
      LOG_LEVEL: "info",
    });

    // production without a webhook secret: a clear message, a non-zero exit, nothing listening
    const port = await freePort();
    const refused = spawnServer(
      {
        ...base(),
        NODE_ENV: "production",
        APP_ID: String(APP_ID),
        PRIVATE_KEY: generateAppKey(),
        PORT: String(port),
        CI_PUBLIC_URL: `http://127.0.0.1:${port}`,
      },
      tempDir("pyci-e2e-cwd-"),
    );
    const exit = await Promise.race([refused.exited, sleep(15_000).then(() => undefined)]);
    expect(exit, refused.output()).toBeDefined();
    expect(exit!.code).not.toBe(0);
    expect(exit!.code).not.toBeNull();
    expect(refused.output()).toContain("WEBHOOK_SECRET");

    // no APP_ID / PRIVATE_KEY, NODE_ENV unset: the registration page (registration.e2e.test.ts follows it through)
    const setupCwd = tempDir("pyci-e2e-setup-");
    const setupPort = await freePort();
    const setup = spawnServer({ ...base(), PORT: String(setupPort) }, setupCwd);
    try {
      const page = await waitUntilServing(setup, "/");
      const html = await page.text();
      expect(page.status, html).toBe(200);
      expect(page.headers.get("content-type")).toMatch(/^text\/html/);
      expect(html).toMatch(/GitHub App|Register/);
      expect(html).toContain("pyci"); // the app's name, from app.yml
      expect(existsSync(join(setupCwd, ".env"))).toBe(false);
    } finally {
      await setup.stop();
    }
  }, 40_000);
});
