import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { actionCheckout, NO_SQLITE_REASON, NODE_HAS_SQLITE } from "../support/action-checkout.js";
import { startFakeGitHub, type FakeGitHub, latestStatus } from "../support/fake-github.js";
import { makeRepo, type TestRepo } from "../support/git-repo.js";
import { pullRequestPayload } from "../support/payloads.js";

/**
 * The GitHub Actions entry as a real child process, both ways it ships: `node dist/actions.js` (the
 * npm package's `pyci-actions`; needs `npm run build` first) and the committed bundle action.yml
 * runs (`action/index.js`, from a copy of what `uses:` checks out, with no node_modules but the
 * pyright the action installs; see test/support/action-checkout.ts),
 * with the environment a workflow job gives a step: the event file (built from GitHub's example
 * payloads, without `installation`, as Actions writes it), the job's token, a real checkout at
 * GITHUB_WORKSPACE, and GITHUB_API_URL pointing at the fake GitHub (GitHub Enterprise layout).
 */

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

const OWNER = "acme";
const REPO = "widgets";
const TOKEN = `ghs_${randomBytes(27).toString("base64url")}`;

const CALC = "def add(a: int, b: int) -> int:\n    return a + b\n";
const testFile = (expected: number) =>
  [
    "import os",
    "import unittest",
    "",
    "from calc import add",
    "",
    "",
    "class AddTest(unittest.TestCase):",
    "    def test_adds(self):",
    "        print('token seen by the tests:', os.environ.get('GITHUB_TOKEN'))",
    "        print('::warning::a workflow command printed by the code under test')",
    `        self.assertEqual(add(2, 2), ${expected})`,
    "",
  ].join("\n");
const DOCS = {
  "docs/conf.py": "project = 'widgets'\nextensions = []\n",
  "docs/index.rst": "Widgets\n=======\n\n.. toctree::\n\n   usage\n",
  "docs/usage.rst": "Usage\n=====\n\nCall ``add``.\n",
};

interface JobRun {
  code: number | null;
  output: string;
  /** What the job wrote to GITHUB_STEP_SUMMARY ("" for nothing). */
  summary: string;
  runUrl: string;
  workspace: string;
  runnerTemp: string;
}

const temps: string[] = [];
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
}

describe("pyci in a GitHub Actions job (node dist/actions.js)", () => {
  actionsJob(() => join(ROOT, "dist", "actions.js"));
});

describe.skipIf(!NODE_HAS_SQLITE)(
  `pyci in a GitHub Actions job (the committed bundle, action/index.js)${NODE_HAS_SQLITE ? "" : ` — skipped: ${NO_SQLITE_REASON}`}`,
  () => {
    actionsJob(() => {
      const dir = actionCheckout();
      temps.push(dir);
      return join(dir, "action", "index.js");
    });
  },
);

/** The job's tests, run with the entry `makeEntry` returns (called once, before them). */
function actionsJob(makeEntry: () => string): void {
  let ENTRY: string;
  let fake: FakeGitHub;
  let origin: TestRepo;
  let passing: string;
  let failing: string;
  let merged: string;
  let runs = 0;

  /** What actions/checkout leaves: a clone of the repository, at `at`. */
  function checkout(at: string): string {
    const dir = tempDir("pyci-actions-workspace-");
    execFileSync("git", ["clone", "-q", origin.dir, dir]);
    execFileSync("git", ["-c", "advice.detachedHead=false", "checkout", "-q", "--detach", at], { cwd: dir });
    return dir;
  }

  function event(
    action: string,
    o: { headSha: string; merged?: boolean; mergeCommitSha?: string; number: number },
  ): object {
    const payload = pullRequestPayload({
      action,
      owner: OWNER,
      repo: REPO,
      number: o.number,
      headSha: o.headSha,
      sshUrl: `ssh://git@${fake.host.split(":")[0]}/${OWNER}/${REPO}.git`,
      cloneUrl: `http://${fake.host}/${OWNER}/${REPO}.git`,
      installationId: 1,
      title: "Make widgets add up",
      ...(o.merged !== undefined ? { merged: o.merged } : {}),
      ...(o.mergeCommitSha ? { mergeCommitSha: o.mergeCommitSha } : {}),
    }) as unknown as Record<string, unknown>;
    // a workflow's event file is the webhook payload without an installation
    delete payload.installation;
    return payload;
  }

  /** Runs the entry as a step would, with exactly the variables Actions sets (nothing inherited). */
  async function job(
    eventName: string,
    payload: object,
    workspace: string,
    overrides: Record<string, string | undefined> = {},
    /** Polled every 50 ms: once true, the job gets SIGINT, as the runner cancels a run. */
    cancelWhen?: () => boolean,
  ): Promise<JobRun> {
    const runId = String(9_000_000 + ++runs);
    const runnerTemp = tempDir("pyci-actions-runner-temp-");
    const eventPath = join(tempDir("pyci-actions-event-"), "event.json");
    writeFileSync(eventPath, JSON.stringify(payload));
    const summaryPath = join(tempDir("pyci-actions-summary-"), "step-summary.md");
    const serverUrl = `http://${fake.host}`;
    const child = spawn(process.execPath, [ENTRY], {
      cwd: existsSync(workspace) ? workspace : runnerTemp,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
        CI: "true",
        GITHUB_ACTIONS: "true",
        GITHUB_TOKEN: TOKEN,
        GITHUB_EVENT_NAME: eventName,
        GITHUB_EVENT_PATH: eventPath,
        GITHUB_RUN_ID: runId,
        GITHUB_REPOSITORY: `${OWNER}/${REPO}`,
        GITHUB_SERVER_URL: serverUrl,
        GITHUB_API_URL: fake.baseUrl,
        GITHUB_WORKSPACE: workspace,
        RUNNER_TEMP: runnerTemp,
        GITHUB_STEP_SUMMARY: summaryPath,
        CI_STEP_TIMEOUT: "120",
        ...overrides,
      },
    });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    const poll = cancelWhen && setInterval(() => cancelWhen() && child.kill("SIGINT"), 50);
    const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
    clearTimeout(timer);
    clearInterval(poll);
    const summary = existsSync(summaryPath) ? readFileSync(summaryPath, "utf8") : "";
    return {
      code,
      output,
      summary,
      runUrl: `${serverUrl}/${OWNER}/${REPO}/actions/runs/${runId}`,
      workspace,
      runnerTemp,
    };
  }

  /** What every job must leave behind: no secret anywhere, only valid API calls with the job's token, nothing in RUNNER_TEMP. */
  function expectCleanJob(run: JobRun): void {
    expect(run.output.includes(TOKEN), "the token in the job's output").toBe(false);
    expect(
      run.output.includes(Buffer.from(`x-access-token:${TOKEN}`).toString("base64")),
      "the token (base64) in the job's output",
    ).toBe(false);
    expect(fake.violations).toEqual([]);
    expect(fake.unexpected.map((r) => `${r.method} ${r.url}`)).toEqual([]);
    expect(fake.issuedTokens).toEqual([]); // no App authentication: the job's token only
    expect(fake.requests.every((r) => r.headers.authorization === `token ${TOKEN}`)).toBe(true);
    expect(readdirSync(run.runnerTemp), "pyci's scratch space is removed").toEqual([]);
  }

  beforeAll(async () => {
    ENTRY = makeEntry();
    fake = await startFakeGitHub({ acceptTokens: [TOKEN] });
    origin = makeRepo({ "calc.py": CALC, "test_calc.py": testFile(4) });
    passing = origin.sha;
    failing = origin.commit({ "test_calc.py": testFile(5) }, "expect the wrong sum");
    merged = origin.commit({ "test_calc.py": testFile(4), ...DOCS }, "Merge pull request #14: document widgets");
  });

  afterAll(async () => {
    await fake?.stop();
    origin?.remove();
    for (const dir of temps) rmSync(dir, { recursive: true, force: true });
  });

  it("passes a pull request: exit 0, success statuses and check run linking to the workflow run, logs in groups", async () => {
    const run = await job("pull_request", event("opened", { headSha: passing, number: 12 }), checkout(passing));
    expect(run.code, run.output).toBe(0);

    for (const context of ["ci/check", "ci/test"]) {
      const all = fake.statuses.filter((s) => s.sha === passing && s.body.context === context);
      expect(
        all.map((s) => s.body.state),
        context,
      ).toEqual(["pending", "success"]);
      expect(all.every((s) => s.body.target_url === run.runUrl && s.owner === OWNER && s.repo === REPO)).toBe(true);
    }
    expect(latestStatus(fake.statuses, passing, "ci/test")!.body.description).toBe("1 test passed");
    const checkRuns = fake.checkRuns.filter((r) => r.fields.head_sha === passing);
    expect(checkRuns).toHaveLength(1);
    expect(checkRuns[0]!.history[0]).toMatchObject({ name: "pyci", details_url: run.runUrl, status: "queued" });
    expect(checkRuns[0]!.fields).toMatchObject({ status: "completed", conclusion: "success", details_url: run.runUrl });

    // every step's log is in the job's log; what the code under test prints cannot act as a workflow command
    expect(run.output).toMatch(/::group::pyci checkout: success/);
    expect(run.output).toMatch(/::group::pyci test: success/);
    const stopped = /::stop-commands::([0-9a-f]{32})\n([\s\S]*?)::\1::\n/g;
    const insideStops = [...run.output.matchAll(stopped)].map((m) => m[2]).join("");
    expect(insideStops).toContain("::warning::a workflow command printed by the code under test");
    expect(run.output.replace(stopped, "")).not.toContain("a workflow command printed by the code under test");
    expect(insideStops).toContain("token seen by the tests: None");
    expect(run.output).toContain(`pyci: build of ${passing.slice(0, 7)}: success`);
    expect(run.summary).toContain(`- ✅ build of ${passing.slice(0, 7)}: success (`);
    expect(run.summary).toContain(`[this workflow run](${run.runUrl})`);
    expect(run.summary).not.toContain("Nothing was reported");

    // the checkout is actions/checkout's: built in place and left there
    expect(execFileSync("git", ["rev-parse", "HEAD"], { cwd: run.workspace, encoding: "utf8" }).trim()).toBe(passing);
    expectCleanJob(run);
  }, 60_000);

  it("fails the job on a failing pull request, after bringing a checkout made at another commit to the event's head", async () => {
    // actions/checkout's default is the merge ref, not the head: pyci still builds the exact head commit
    const run = await job("pull_request", event("synchronize", { headSha: failing, number: 13 }), checkout(merged));
    expect(run.code, run.output).toBe(1);

    expect(latestStatus(fake.statuses, failing, "ci/test")!.body).toMatchObject({
      state: "failure",
      description: "1 failure in 1 test",
      target_url: run.runUrl,
    });
    expect(latestStatus(fake.statuses, failing, "ci/check")!.body.state).toBe("success");
    const checkRun = fake.checkRuns.find((r) => r.fields.head_sha === failing)!;
    expect(checkRun.fields).toMatchObject({ status: "completed", conclusion: "failure", details_url: run.runUrl });
    expect(checkRun.annotations).toContainEqual(
      expect.objectContaining({ path: "test_calc.py", annotation_level: "failure" }),
    );
    expect(run.output).toContain(
      `::error title=pyci::build of ${failing.slice(0, 7)}: failure (test: 1 failure in 1 test)`,
    );
    expect(execFileSync("git", ["rev-parse", "HEAD"], { cwd: run.workspace, encoding: "utf8" }).trim()).toBe(failing);
    expectCleanJob(run);
  }, 60_000);

  it("publishes the docs of a merge: ci/docs success and a release whose asset is the HTML as tar.gz", async () => {
    const run = await job(
      "pull_request",
      event("closed", { headSha: failing, number: 14, merged: true, mergeCommitSha: merged }),
      checkout(merged),
    );
    expect(run.code, run.output).toBe(0);

    const tag = `docs-${merged.slice(0, 7)}`;
    const docs = fake.statuses.filter((s) => s.sha === merged);
    expect(docs.map((s) => [s.body.context, s.body.state])).toEqual([
      ["ci/docs", "pending"],
      ["ci/docs", "success"],
    ]);
    expect(docs.every((s) => s.body.target_url === run.runUrl)).toBe(true);
    expect(docs[1]!.body.description).toBe(`Docs built: 2 pages, no warnings; published as release ${tag}`);
    const checkRun = fake.checkRuns.find((r) => r.fields.head_sha === merged)!;
    expect(checkRun.fields).toMatchObject({
      name: "pyci docs",
      status: "completed",
      conclusion: "success",
      details_url: run.runUrl,
    });

    const release = fake.release(OWNER, REPO, tag)!;
    expect(release).toMatchObject({ targetCommitish: merged, draft: false, prerelease: false, latest: false });
    expect(release.body).toContain("pull request #14 (Make widgets add up)");
    expect(release.body).toContain(`Build output: ${run.runUrl}`);
    expect(release.assets.map((a) => a.name)).toEqual(["docs-html.tar.gz"]);
    const archive = join(tempDir("pyci-actions-asset-"), "docs-html.tar.gz");
    writeFileSync(archive, fake.asset(OWNER, REPO, tag, "docs-html.tar.gz")!);
    const listing = execFileSync("tar", ["-tzf", archive], { encoding: "utf8" }).split("\n");
    expect(listing).toContain("index.html");
    expect(listing).toContain("usage.html");
    expect(run.output).toContain(`pyci: docs build of ${merged.slice(0, 7)}: success`);
    expectCleanJob(run);
  }, 60_000);

  it("reports a cancelled run (the runner's SIGINT) cancelled: statuses error, check run cancelled, the tests killed", async () => {
    const marker = join(tempDir("pyci-actions-cancel-"), "tests-started");
    const slow = origin.commit(
      {
        "test_calc.py": [
          "import pathlib, time, unittest",
          "",
          "class SlowTest(unittest.TestCase):",
          "    def test_waits(self):",
          `        pathlib.Path(${JSON.stringify(marker)}).write_text('started')`,
          "        time.sleep(50)",
          "",
        ].join("\n"),
      },
      "a test that takes its time",
    );
    const started = performance.now();
    const run = await job("pull_request", event("synchronize", { headSha: slow, number: 17 }), checkout(slow), {}, () =>
      existsSync(marker),
    );
    // ended long before the test's 50 s: its process was killed
    expect(performance.now() - started).toBeLessThan(40_000);
    expect(run.output).toContain("pyci: the job was cancelled: its builds are reported cancelled");

    for (const context of ["ci/check", "ci/test"]) {
      expect(latestStatus(fake.statuses, slow, context)!.body, context).toMatchObject({
        state: "error",
        description: "Cancelled with its workflow run; re-run the workflow to build it",
        target_url: run.runUrl,
      });
    }
    const checkRun = fake.checkRuns.find((r) => r.fields.head_sha === slow)!;
    expect(checkRun.fields).toMatchObject({ status: "completed", conclusion: "cancelled" });
    expect(run.output).toContain(`build of ${slow.slice(0, 7)}: error`);
    expectCleanJob(run);
  }, 60_000);

  it("builds a fork's pull request without writing to GitHub (read-only token) and fails the job on its failing test", async () => {
    const before = { requests: fake.requests.length, statuses: fake.statuses.length, checkRuns: fake.checkRuns.length };
    const payload = pullRequestPayload({
      action: "synchronize",
      owner: OWNER,
      repo: REPO,
      number: 16,
      headSha: failing,
      sshUrl: `ssh://git@${fake.host.split(":")[0]}/${OWNER}/${REPO}.git`,
      cloneUrl: `http://${fake.host}/${OWNER}/${REPO}.git`,
      installationId: 1,
      fork: true,
      forkOwner: "contributor",
    }) as unknown as Record<string, unknown>;
    delete payload.installation;
    const run = await job("pull_request", payload, checkout(failing));
    expect(run.code, run.output).toBe(1);

    // no write was even tried: no status, no check run (a read-only token would have them refused)
    const sent = fake.requests.slice(before.requests).map((r) => `${r.method} ${r.path}`);
    expect(sent.filter((r) => !r.startsWith("GET "))).toEqual([]);
    expect(fake.statuses.length).toBe(before.statuses);
    expect(fake.checkRuns.length).toBe(before.checkRuns);
    // every step's result is in the log, with why nothing shows on the commit
    expect(run.output).toMatch(/::group::pyci test: failure/);
    expect(run.output).toContain(
      "::notice title=pyci::Nothing was reported on the commit: this pull request comes from the fork contributor/widgets",
    );
    expect(run.output).toContain(
      `::error title=pyci::build of ${failing.slice(0, 7)}: failure (test: 1 failure in 1 test)`,
    );
    expect(run.summary).toContain(
      "> Nothing was reported on the commit: this pull request comes from the fork contributor/widgets",
    );
    expect(run.summary).toContain(`- ❌ build of ${failing.slice(0, 7)}: failure (test: 1 failure in 1 test)`);
    expectCleanJob(run);
  }, 60_000);

  it("publishes the docs of a push to the default branch (the docs job), at the pushed commit", async () => {
    const pr = event("opened", { headSha: merged, number: 17 }) as { repository: object; sender: object };
    const push = {
      ref: "refs/heads/main",
      before: passing,
      after: merged,
      created: false,
      deleted: false,
      forced: false,
      repository: pr.repository,
      sender: pr.sender,
      commits: [],
      head_commit: null,
    };
    const tag = `docs-${merged.slice(0, 7)}`;
    const run = await job("push", push, checkout(merged));
    expect(run.code, run.output).toBe(0);
    const docs = fake.statuses.filter((s) => s.sha === merged && s.body.context === "ci/docs");
    expect(docs.at(-1)!.body).toMatchObject({ state: "success", target_url: run.runUrl });
    expect(docs.at(-1)!.body.description).toContain(`published as release ${tag}`);
    const release = fake.release(OWNER, REPO, tag)!;
    expect(release.body).toContain(`Build output: ${run.runUrl}`);
    expect(run.output).toContain(`pyci: docs build of ${merged.slice(0, 7)}: success`);
    expect(run.summary).toContain(`- ✅ docs build of ${merged.slice(0, 7)}: success`);

    // a push to another branch publishes nothing
    const other = await job("push", { ...push, ref: "refs/heads/feature" }, checkout(merged));
    expect(other.code, other.output).toBe(0);
    expect(other.output).toContain("pyci: No build for push: pushed to feature, not the default branch");
    expectCleanJob(other);
  }, 60_000);

  it("exits 0 with the reason when the event starts no build (a pull request closed without merging)", async () => {
    const before = fake.requests.length;
    const run = await job(
      "pull_request",
      event("closed", { headSha: failing, number: 15, merged: false }),
      checkout(failing),
    );
    expect(run.code, run.output).toBe(0);
    expect(run.output).toContain("pyci: No build for pull_request.closed: pull request closed without merging");
    expect(fake.requests.slice(before).map((r) => `${r.method} ${r.path}`)).toEqual([]);
    expectCleanJob(run);
  }, 30_000);

  it("refuses to start, exit 2, without the job's token or a checkout", async () => {
    const payload = event("opened", { headSha: passing, number: 12 });
    const missing = join(tmpdir(), `pyci-no-such-dir-${randomBytes(6).toString("hex")}`);
    const before = fake.requests.length;
    const run = await job("pull_request", payload, missing, { GITHUB_TOKEN: undefined });
    expect(run.code, run.output).toBe(2);
    expect(run.output).toContain(
      "::error title=pyci::pyci cannot start, its configuration is invalid:%0A  - GITHUB_TOKEN is not set.",
    );
    expect(run.output).toContain(`%0A  - GITHUB_WORKSPACE=${missing} is not a directory.`);
    expect(fake.requests.length).toBe(before);
    expect(readdirSync(run.runnerTemp)).toEqual([]);
  }, 30_000);
}
