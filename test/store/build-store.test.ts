import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { BuildRequest } from "../../src/model/build-request.js";
import { maskSecrets } from "../../src/secrets/mask-secrets.js";
import {
  BuildStore,
  DATABASE_FILE,
  isBuildId,
  newBuildId,
  type BuildEvent,
  type BuildRecord,
  type BuildState,
} from "../../src/store/build-store.js";
import { keepArtifact } from "../../src/store/keep-artifact.js";

let dataDir: string;
let store: BuildStore;
const opened: BuildStore[] = [];

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), "pyci-store-"));
  store = open();
});
afterEach(() => {
  for (const s of opened.splice(0)) s.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function open(): BuildStore {
  const s = new BuildStore(dataDir);
  opened.push(s);
  return s;
}

const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString();
const daysAgo = (d: number) => minutesAgo(d * 24 * 60);

function build(overrides: Partial<BuildRecord> = {}): BuildRecord {
  return {
    id: newBuildId(),
    owner: "octo-org",
    repo: "calc",
    sha: "a".repeat(40),
    event: "pull_request.opened",
    pipeline: "pr",
    state: "success",
    createdAt: new Date().toISOString(),
    steps: [],
    ...overrides,
  };
}

function rich(): BuildRecord {
  const request: BuildRequest = {
    pipeline: "pr",
    owner: "octo-org",
    repo: "calc",
    sha: "b".repeat(40),
    event: "pull_request.synchronize",
    deliveryId: "d-123",
    installationId: 4242,
    sshUrl: "git@github.com:octo-org/calc.git",
    cloneUrl: "https://github.com/octo-org/calc.git",
    prNumber: 7,
    prTitle: "Add «subtract» — and ünïcödé 🐍",
    prUrl: "https://github.com/octo-org/calc/pull/7",
    branch: "feature/sub",
  };
  return build({
    sha: request.sha,
    event: request.event,
    deliveryId: "d-123",
    prNumber: 7,
    prTitle: request.prTitle!,
    prUrl: request.prUrl!,
    branch: "feature/sub",
    request,
    state: "failure",
    createdAt: minutesAgo(5),
    startedAt: minutesAgo(4),
    finishedAt: minutesAgo(1),
    checkRunId: 9_876_543_210,
    steps: [
      { name: "checkout", state: "success", summary: "Checked out bbbbbbb", exitCode: 0, durationMs: 812 },
      {
        name: "install",
        state: "skipped",
        summary: "Nothing to install",
        exitCode: null,
        durationMs: 0,
        python: "/tmp/venv/bin/python",
      },
      {
        name: "check",
        state: "failure",
        summary: "1 syntax error, 1 type error",
        exitCode: 1,
        durationMs: 4321,
        enforced: false,
        diagnostics: [
          {
            file: "calc.py",
            line: 4,
            column: 10,
            severity: "error",
            rule: "syntax",
            message: '"(" was not closed',
            syntax: true,
          },
          {
            file: "pkg/util.py",
            line: 12,
            column: 1,
            endLine: 12,
            endColumn: 9,
            severity: "warning",
            rule: "reportAttributeAccessIssue",
            message: "Cannot access attribute",
            syntax: false,
          },
          {
            file: "calc.py",
            line: 9,
            column: 1,
            severity: "error",
            rule: "syntax",
            message: "Expected expression",
            syntax: true,
            followOn: true,
          },
          {
            severity: "warning",
            rule: "sphinx",
            message: "html_static_path entry '_static' does not exist",
            syntax: false,
          },
        ],
      },
      {
        name: "test",
        state: "failure",
        summary: "2 failures in 4 tests",
        exitCode: 1,
        durationMs: 1234,
        tests: [
          { id: "tests.test_calc.AddTest.test_add", outcome: "pass", durationMs: 0.41 },
          {
            id: "tests.test_calc.AddTest.test_sub",
            outcome: "fail",
            durationMs: 2.5,
            message: "AssertionError: 4 != 5",
            traceback:
              'Traceback (most recent call last):\n  File "tests/test_calc.py", line 9\nAssertionError: 4 != 5\n',
            file: "tests/test_calc.py",
            line: 9,
          },
          { id: "tests.test_calc.AddTest.test_skip", outcome: "skip", durationMs: 0, message: "not today" },
          {
            id: "tests.test_calc.AddTest.test_shared_file",
            outcome: "pass",
            durationMs: 3,
            onlyInParallel: {
              outcome: "fail",
              message: "AssertionError: locked",
              file: "tests/test_calc.py",
              line: 21,
            },
          },
          {
            id: "tests.test_calc.AddTest.test_loop",
            subtest: "(i=2)",
            module: "tests.test_more",
            outcome: "fail",
            durationMs: 1.5,
            message: "AssertionError: 2 not less than 2",
          },
        ],
        notes: ["With test.parallel: auto this step would likely take 40% less time."],
        testCounts: {
          run: 4,
          failures: 2,
          errors: 0,
          skipped: 1,
          expectedFailures: 0,
          unexpectedSuccesses: 0,
        },
      },
      {
        name: "lint",
        state: "success",
        summary: "nothing ran",
        advice: "Pin the version pip could not find in requirements.txt.",
        exitCode: 0,
        durationMs: 3,
        tests: [],
        diagnostics: [],
        enforced: true,
      },
      {
        name: "docs",
        state: "success",
        summary: "14 pages",
        exitCode: 0,
        durationMs: 9000,
        counts: { pages: 14, warnings: 0 },
        artifacts: [
          { name: "docs-html.tar.gz", path: "/data/artifacts/x/docs-html.tar.gz", contentType: "application/gzip" },
        ],
        reused: { buildId: "Un9kJhxlY865yn3iiqw2LQ", createdAt: "2026-11-27T10:00:00.000Z" },
      },
    ],
  });
}

describe("BuildStore records", () => {
  it("gives back exactly what was saved, however rich", () => {
    const record = rich();
    store.create(structuredClone(record));
    expect(store.get(record.id)).toStrictEqual(record);

    // saved again with fewer steps and fields: nothing of the old version is left
    const smaller = {
      ...build({ id: record.id, state: "error", error: "interrupted by restart", createdAt: record.createdAt }),
      steps: [record.steps[0]!],
    };
    store.save(smaller);
    expect(store.get(record.id)).toStrictEqual(smaller);
    // and from a second connection to the same file
    expect(open().get(record.id)).toStrictEqual(smaller);
  });

  it("refuses an id twice on create, and ids that are not capability ids", () => {
    const record = store.create(build());
    expect(() => store.create(build({ id: record.id }))).toThrow(/UNIQUE/);
    expect(() => store.save(build({ id: "../../etc/passwd" }))).toThrow(/Not a build id/);
    expect(store.get("../../etc/passwd")).toBeUndefined();
    expect(store.get("nope")).toBeUndefined();
  });

  it("makes unguessable ids", () => {
    const ids = new Set(Array.from({ length: 1000 }, newBuildId));
    expect(ids.size).toBe(1000);
    expect([...ids].every(isBuildId)).toBe(true);
    for (const bad of [
      "",
      "..",
      "../AAAAAAAAAAAAAAAAAAAAAA",
      "AAAAAAAAAAAAAAAAAAAAA/",
      "AAAAAAAAAAAAAAAAAAAAA.",
      "A".repeat(23),
    ])
      expect(isBuildId(bad)).toBe(false);
  });

  it("keeps its database readable by its owner only", () => {
    store.create(build());
    expect(statSync(join(dataDir, DATABASE_FILE)).mode & 0o777).toBe(0o600);
    expect(statSync(join(dataDir, "logs")).mode & 0o777).toBe(0o700);
  });
});

describe("BuildStore listing", () => {
  function seed(): BuildRecord[] {
    const records = [
      build({ createdAt: minutesAgo(60), state: "success", branch: "main" }),
      build({ createdAt: minutesAgo(50), state: "failure", branch: "main" }),
      build({ createdAt: minutesAgo(40), state: "success", branch: "feature" }),
      build({ createdAt: minutesAgo(30), repo: "other", state: "error", branch: "main" }),
      build({ createdAt: minutesAgo(20), state: "running", branch: "main" }),
      build({ createdAt: minutesAgo(10), state: "queued", branch: "main", owner: "someone" }),
    ];
    for (const r of records) store.create(r);
    return records;
  }

  it("lists newest first, filtered by repository and state, with summary steps", () => {
    const records = seed();
    const detailed = rich();
    store.create(detailed);
    const ids = (list: BuildRecord[]) => list.map((r) => r.id);

    expect(ids(store.list())).toEqual(
      [detailed, ...records].sort((a, b) => b.createdAt.localeCompare(a.createdAt)).map((r) => r.id),
    );
    expect(ids(store.list({ owner: "octo-org", repo: "calc", state: "success" }))).toEqual([
      records[2]!.id,
      records[0]!.id,
    ]);
    expect(ids(store.list({ owner: "octo-org", repo: "other" }))).toEqual([records[3]!.id]);
    expect(ids(store.list({ state: "queued" }))).toEqual([records[5]!.id]);
    expect(ids(store.list({ owner: "octo-org", repo: "calc", branch: "main" }))).toEqual([
      records[4]!.id,
      records[1]!.id,
      records[0]!.id,
    ]);

    // summaries: everything but the tests and diagnostics lists
    const listed = store.list({ limit: 1 });
    expect(listed).toHaveLength(1);
    const summary = listed[0]!;
    expect(summary.id).toBe(detailed.id);
    expect(summary.steps.map((s) => s.name)).toEqual(detailed.steps.map((s) => s.name));
    expect(summary.steps.every((s) => s.tests === undefined && s.diagnostics === undefined)).toBe(true);
    expect(summary.steps[3]!.testCounts).toEqual(detailed.steps[3]!.testCounts);
    expect(summary.request).toEqual(detailed.request);
  });

  it("pages with a createdAt cursor, neither skipping nor repeating builds of the same millisecond", () => {
    const sameTime = minutesAgo(1);
    const records = Array.from({ length: 7 }, (_, i) => build({ createdAt: i < 4 ? sameTime : minutesAgo(10 + i) }));
    for (const r of records) store.create(r);
    const seen: string[] = [];
    let page = store.list({ limit: 3 });
    while (page.length > 0) {
      seen.push(...page.map((r) => r.id));
      const last = page.at(-1)!;
      page = store.list({ limit: 3, before: last.createdAt, beforeId: last.id });
    }
    expect(seen).toHaveLength(7);
    expect(new Set(seen).size).toBe(7);
    // a plain createdAt cursor: strictly older builds
    expect(store.list({ before: sameTime }).map((r) => r.id)).toEqual(records.slice(4).map((r) => r.id));
    expect(store.list({ limit: 0 })).toHaveLength(1);
    expect(store.list({ limit: 10_000 })).toHaveLength(7);
  });

  it("finds the latest finished build on a branch, for badges", () => {
    const records = seed();
    expect(store.latest({ owner: "octo-org", repo: "calc", branch: "main" })?.id).toBe(records[1]!.id);
    expect(store.latest({ owner: "octo-org", repo: "calc", branch: "main", finishedOnly: false })?.id).toBe(
      records[4]!.id,
    );
    expect(store.latest({ owner: "octo-org", repo: "calc", branch: "feature" })?.state).toBe("success");
    expect(store.latest({ owner: "octo-org", repo: "calc" })?.id).toBe(records[2]!.id);
    expect(store.latest({ owner: "octo-org", repo: "calc", branch: "gone" })).toBeUndefined();
    expect(store.latest({ owner: "octo-org", repo: "calc", branch: "main", pipeline: "docs" })).toBeUndefined();
  });

  it("lists unfinished builds oldest first, whole, and counts builds by state", () => {
    const records = seed();
    const unfinished = store.unfinished();
    expect(unfinished.map((r) => r.id)).toEqual([records[4]!.id, records[5]!.id]);
    expect(unfinished[0]).toStrictEqual(records[4]);
    expect(store.counts()).toEqual({ queued: 1, running: 1, success: 2, failure: 1, error: 1 } satisfies Record<
      BuildState,
      number
    >);
    expect(store.healthy()).toBe(true);
  });

  it("reports unhealthy once its database is gone", () => {
    const s = new BuildStore(dataDir);
    s.close();
    expect(s.healthy()).toBe(false);
  });
});

describe("BuildStore deliveries", () => {
  it("records a delivery with a new build, joins the oldest unfinished build of its commit, and knows a redelivery", () => {
    const older = build({ state: "running", prNumber: 3, createdAt: minutesAgo(9) });
    const newer = build({ state: "queued", prNumber: 3, createdAt: minutesAgo(5) });
    expect(store.accept(older, "d-1").outcome).toBe("created");
    expect(store.accept(newer, "d-2").outcome).toBe("joined");
    store.create(newer);
    const joined = store.accept(build({ state: "queued", prNumber: 3 }), "d-3");
    expect([joined.outcome, joined.record.id]).toEqual(["joined", older.id]);
    expect([store.accept(build(), "d-3").outcome, store.accept(build(), "d-3").record.id]).toEqual([
      "duplicate",
      older.id,
    ]);
    const other = build({ state: "queued", prNumber: 3, sha: "c".repeat(40), createdAt: minutesAgo(7) });
    expect(store.accept(other, "d-4").outcome).toBe("created");
    expect(store.activeForPullRequest("octo-org", "calc", 3, "pr").map((b) => b.id)).toEqual([
      older.id,
      other.id,
      newer.id,
    ]);
  });

  it("costs no more with 20,000 finished builds of the repository than with none", () => {
    const active = build({ state: "queued", prNumber: 3 });
    store.accept(active, "first");
    let n = 0;
    // the fastest of a few batches: a busy machine slows some of them
    const deliveryMs = () => {
      const batches = Array.from({ length: 5 }, () => {
        const started = performance.now();
        for (let i = 0; i < 40; i++) {
          store.accept(build({ state: "queued", prNumber: 3 }), `d-${n++}`);
          store.activeForPullRequest("octo-org", "calc", 3, "pr");
        }
        return performance.now() - started;
      });
      return Math.min(...batches) / 40;
    };
    const fresh = deliveryMs();

    const db = new Database(join(dataDir, DATABASE_FILE));
    db.exec(`
      WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
      INSERT INTO builds (id, owner, repo, sha, event, pipeline, pr_number, state, created_at)
      SELECT printf('%022d', i), 'octo-org', 'calc', printf('%040x', i), 'pull_request.synchronize', 'pr', i % 50 + 1, 'success',
             strftime('%Y-%m-%dT%H:%M:%fZ', 'now', printf('-%d minutes', i + 60))
      FROM n`);
    db.close();
    const withHistory = deliveryMs();

    expect(store.counts().success).toBe(20_000);
    expect(
      withHistory,
      `${fresh.toFixed(3)} ms per delivery with no history, ${withHistory.toFixed(3)} ms with 20,000 builds`,
    ).toBeLessThan(4 * fresh + 0.05);
  });
});

describe("BuildStore logs", () => {
  it("streams masked log lines and every save to a build's subscribers until they leave", () => {
    const record = store.create(build({ state: "queued" }));
    const other = store.create(build());
    const events: BuildEvent[] = [];
    const unsubscribe = store.subscribe(record.id, (e) => events.push(e));
    store.subscribe(other.id, () => {
      throw new Error("a broken page must not break the build");
    });

    record.state = "running";
    store.save(record);
    const log = store.openLog(record.id, "test", maskSecrets(["s3cret-token-value"]));
    log.write("collecting ");
    log.write("tests with s3cret-token-value\n");
    log.write("ok\n");
    log.close();
    const otherLog = store.openLog(other.id, "test", (t) => t);
    otherLog.write("elsewhere\n");
    otherLog.close();
    record.state = "success";
    record.steps.push({ name: "test", state: "success", summary: "1 test passed", exitCode: 0, durationMs: 5 });
    store.save(record);
    store.save(other);

    expect(events).toEqual([
      { type: "build", record: expect.objectContaining({ state: "running" }) },
      { type: "log", step: "test", text: "collecting tests with ***\n" },
      { type: "log", step: "test", text: "ok\n" },
      {
        type: "build",
        record: expect.objectContaining({
          state: "success",
          steps: [expect.objectContaining({ summary: "1 test passed" })],
        }),
      },
    ]);
    // a snapshot: later changes to the caller's record do not reach it
    record.state = "error";
    expect((events.at(-1) as { record: BuildRecord }).record.state).toBe("success");

    unsubscribe();
    store.save(record);
    expect(events).toHaveLength(4);
  });

  it("keeps logs beside the database and reads a multi-megabyte log tail first, in ranges", async () => {
    const record = store.create(build());
    const log = store.openLog(record.id, "test", (t) => t);
    const lines = Array.from({ length: 200_000 }, (_, i) => `line ${String(i).padStart(6, "0")} ✓ naïve 🐍\n`);
    for (const line of lines) log.write(line);
    log.close();
    const whole = lines.join("");
    const size = Buffer.byteLength(whole);
    expect(size).toBeGreaterThan(5 * 1024 * 1024);
    expect(existsSync(join(dataDir, "logs", record.id, "test.log"))).toBe(true);
    expect(await store.logSize(record.id, "test")).toBe(size);
    expect(await store.logSteps(record.id)).toEqual([{ step: "test", size }]);

    const started = performance.now();
    const tail = (await store.readLogRange(record.id, "test", { start: -64 * 1024 }))!;
    expect(performance.now() - started).toBeLessThan(500);
    expect(tail.size).toBe(size);
    expect(tail.end).toBe(size);
    expect(tail.text.endsWith(lines.at(-1)!)).toBe(true);
    expect(tail.text).not.toContain("\uFFFD");
    expect(size - tail.start).toBeGreaterThan(64 * 1024 - 4);

    // walking backwards from the tail chunk by chunk gives back the whole log, no character cut
    const chunks = [tail.text];
    let start = tail.start;
    while (start > 0) {
      const chunk = (await store.readLogRange(record.id, "test", {
        start: Math.max(0, start - 1_000_003),
        end: start,
      }))!;
      expect(chunk.end).toBe(start);
      expect(chunk.text).not.toContain("\uFFFD");
      chunks.unshift(chunk.text);
      start = chunk.start;
    }
    expect(chunks.join("")).toBe(whole);

    expect(await store.readLogRange(record.id, "test", { start: size + 10 })).toEqual({
      text: "",
      size,
      start: size,
      end: size,
    });
    expect(await store.readLogRange(record.id, "missing")).toBeUndefined();
    expect(await store.logSize(record.id, "missing")).toBeUndefined();
    await expect(store.readLogRange(record.id, "test", { start: 1.5 })).rejects.toThrow(RangeError);
  });

  it("refuses ids and step names that would leave the log directory", async () => {
    const record = store.create(build());
    const secretFile = join(dataDir, "secret.log");
    writeFileSync(secretFile, "not for you");
    for (const step of ["../secret", "..", "../../etc/passwd", "Test", "a/b", ""]) {
      expect(await store.readLog(record.id, step)).toBeUndefined();
      expect(await store.readLogRange(record.id, step)).toBeUndefined();
      expect(await store.logSize(record.id, step)).toBeUndefined();
      expect(() => store.openLog(record.id, step, (t) => t)).toThrow(/Not a step name/);
    }
    for (const id of ["..", "../logs", `${record.id}/..`, "secret"]) {
      expect(await store.readLog(id, "test")).toBeUndefined();
      expect(await store.readLogRange(id, "test")).toBeUndefined();
      expect(await store.logSteps(id)).toEqual([]);
      expect(() => store.openLog(id, "test", (t) => t)).toThrow(/Not a build id/);
    }
    expect(readdirSync(join(dataDir, "logs"))).toEqual([]);
  });
});

describe("BuildStore retention", () => {
  async function withFiles(record: BuildRecord): Promise<BuildRecord> {
    store.create(record);
    const log = store.openLog(record.id, "test", (t) => t);
    log.write("output\n");
    log.close();
    const scratch = join(dataDir, "scratch.tar.gz");
    writeFileSync(scratch, "archive");
    await keepArtifact(dataDir, record.id, {
      name: "docs-html.tar.gz",
      path: scratch,
      contentType: "application/gzip",
    });
    mkdirSync(join(dataDir, "builds", record.id), { recursive: true });
    writeFileSync(join(dataDir, "builds", record.id, "build.json"), "{}");
    return record;
  }
  const filesOf = (id: string) => ["logs", "artifacts", "builds"].filter((d) => existsSync(join(dataDir, d, id)));

  it("removes finished builds older than the limit, with all their files, never unfinished ones", async () => {
    const old = await withFiles(build({ createdAt: daysAgo(100), state: "failure" }));
    const oldRunning = await withFiles(build({ createdAt: daysAgo(100), state: "running" }));
    const oldQueued = await withFiles(build({ createdAt: daysAgo(95), state: "queued" }));
    const recent = await withFiles(build({ createdAt: daysAgo(89), state: "success" }));
    expect(filesOf(old.id)).toEqual(["logs", "artifacts", "builds"]);

    expect(store.prune({ olderThanDays: 90 })).toBe(1);
    expect(store.get(old.id)).toBeUndefined();
    expect(filesOf(old.id)).toEqual([]);
    for (const kept of [oldRunning, oldQueued, recent]) {
      expect(store.get(kept.id)?.id).toBe(kept.id);
      expect(filesOf(kept.id)).toEqual(["logs", "artifacts", "builds"]);
    }
    expect(store.prune({ olderThanDays: 90 })).toBe(0);
  });

  it("keeps only the newest builds, counting unfinished ones but never removing them", async () => {
    const records = [];
    for (let i = 0; i < 6; i++)
      records.push(await withFiles(build({ createdAt: minutesAgo(60 - i), state: i === 1 ? "running" : "success" })));
    // newest first: 5 4 3 2 1(running) 0
    expect(store.prune({ keepBuilds: 3 })).toBe(2);
    expect(store.list().map((r) => r.id)).toEqual(
      [records[5]!, records[4]!, records[3]!, records[1]!].map((r) => r.id),
    );
    expect(filesOf(records[2]!.id)).toEqual([]);
    expect(filesOf(records[0]!.id)).toEqual([]);
    expect(filesOf(records[1]!.id)).toEqual(["logs", "artifacts", "builds"]);
    expect(store.prune({ olderThanDays: 1, keepBuilds: 10 })).toBe(0);
    expect(() => store.prune({ keepBuilds: 0 })).toThrow(RangeError);
  });

  it("prunes at open and keeps pruning on a timer that does not hold the process", async () => {
    const old = await withFiles(build({ createdAt: daysAgo(10), state: "success" }));
    const fresh = await withFiles(build({ state: "success" }));
    const logged: string[] = [];
    const log = {
      info: (_: object, msg: string) => logged.push(msg),
      error: (_: object, msg: string) => logged.push(`error: ${msg}`),
    };
    const pruning = new BuildStore(dataDir, { retention: { olderThanDays: 7 }, log });
    opened.push(pruning);
    expect(pruning.get(old.id)).toBeUndefined();
    expect(filesOf(old.id)).toEqual([]);
    expect(logged).toEqual(["removed old builds"]);

    const stop = pruning.startRetention({ keepBuilds: 1 }, 20);
    const newer = pruning.create(build({ state: "success" }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(pruning.get(fresh.id)).toBeUndefined();
    expect(pruning.get(newer.id)?.id).toBe(newer.id);
    stop();
  });
});

describe("BuildStore test durations", () => {
  it("gives each test's duration in the repository's newest build with tests", () => {
    const test = (id: string, durationMs: number) => ({ id, outcome: "pass" as const, durationMs });
    const withTests = (durations: [string, number][], minutes: number, repo = "calc") =>
      build({
        repo,
        createdAt: minutesAgo(minutes),
        steps: [
          {
            name: "test",
            state: "success",
            summary: "",
            exitCode: 0,
            durationMs: 1,
            tests: durations.map(([id, ms]) => test(id, ms)),
          },
        ],
      });
    store.create(withTests([["t.A.test_old", 5]], 30));
    store.create(
      withTests(
        [
          ["t.A.test_a", 120],
          ["t.A.test_b", 7.5],
        ],
        20,
      ),
    );
    store.create(withTests([["t.A.test_other", 1]], 10, "other"));
    store.create(build({ createdAt: minutesAgo(5), steps: [] }));
    expect(store.testDurations("octo-org", "calc")).toEqual(
      new Map([
        ["t.A.test_a", 120],
        ["t.A.test_b", 7.5],
      ]),
    );
    expect(store.testDurations("octo-org", "none")).toEqual(new Map());
  });
});
