import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BuildStore, DATABASE_FILE, newBuildId } from "../../src/store/build-store.js";
import { migrate } from "../../src/store/migrate.js";
import { MIGRATIONS } from "../../src/store/migrations/migrations.js";

let dataDir: string;
let dbPath: string;
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), "pyci-migrations-"));
  dbPath = join(dataDir, DATABASE_FILE);
});
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

const userVersion = (db: Database.Database) => db.pragma("user_version", { simple: true }) as number;

/** A database as pyci left it at schema version 1, with one finished build in it. */
function createVersion1(id: string): void {
  const db = new Database(dbPath);
  expect(migrate(db, MIGRATIONS.slice(0, 1))).toEqual({ from: 0, to: 1 });
  const request = {
    pipeline: "pr",
    owner: "octo-org",
    repo: "calc",
    sha: "c".repeat(40),
    event: "pull_request.opened",
    deliveryId: "d-1",
    installationId: 1,
    sshUrl: "git@github.com:octo-org/calc.git",
    cloneUrl: "https://github.com/octo-org/calc.git",
    prNumber: 3,
    branch: "fix/rounding",
  };
  db.prepare(
    `INSERT INTO builds (id, owner, repo, sha, event, pipeline, delivery_id, pr_number, state, created_at, finished_at, request_json)
     VALUES (?, 'octo-org', 'calc', ?, 'pull_request.opened', 'pr', 'd-1', 3, 'failure', '2024-01-02T03:04:05.000Z', '2024-01-02T03:05:00.000Z', ?)`,
  ).run(id, "c".repeat(40), JSON.stringify(request));
  db.prepare(
    `INSERT INTO steps (build_id, position, name, state, summary, exit_code, duration_ms, test_count, test_counts_json) VALUES (?, 0, 'test', 'failure', '1 test failed', 1, 42, 1, ?)`,
  ).run(
    id,
    JSON.stringify({
      total: 1,
      passed: 0,
      failed: 1,
      errors: 0,
      skipped: 0,
      expectedFailures: 0,
      unexpectedSuccesses: 0,
    }),
  );
  db.prepare(
    `INSERT INTO test_results (build_id, step, position, test_id, outcome, duration_ms, message) VALUES (?, 0, 0, 't.T.test_round', 'fail', 1.5, 'AssertionError')`,
  ).run(id);
  expect(userVersion(db)).toBe(1);
  db.close();
}

describe("schema migrations", () => {
  it("number their versions 1, 2, 3… in order", () => {
    expect(MIGRATIONS.map((m) => m.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
  });

  it("bring a version 1 database to the latest schema, keeping its builds", () => {
    const id = newBuildId();
    createVersion1(id);

    const store = new BuildStore(dataDir);
    const build = store.get(id);
    store.close();
    expect(build).toStrictEqual({
      id,
      owner: "octo-org",
      repo: "calc",
      sha: "c".repeat(40),
      event: "pull_request.opened",
      pipeline: "pr",
      deliveryId: "d-1",
      prNumber: 3,
      state: "failure",
      createdAt: "2024-01-02T03:04:05.000Z",
      finishedAt: "2024-01-02T03:05:00.000Z",
      // version 2's column, filled in from the stored request
      branch: "fix/rounding",
      request: expect.objectContaining({ branch: "fix/rounding", installationId: 1 }),
      steps: [
        {
          name: "test",
          state: "failure",
          summary: "1 test failed",
          exitCode: 1,
          durationMs: 42,
          tests: [{ id: "t.T.test_round", outcome: "fail", durationMs: 1.5, message: "AssertionError" }],
          // version 6: the per-test counts of before, renamed to unittest's figures
          testCounts: { run: 1, failures: 1, errors: 0, skipped: 0, expectedFailures: 0, unexpectedSuccesses: 0 },
        },
      ],
    });

    const db = new Database(dbPath);
    expect(userVersion(db)).toBe(MIGRATIONS.length);
    expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    const indexes = (
      db
        .prepare(
          "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'builds' AND name NOT LIKE 'sqlite_%'",
        )
        .all() as { name: string }[]
    ).map((r) => r.name);
    expect(indexes.sort()).toEqual([
      "builds_by_branch",
      "builds_by_commit",
      "builds_by_created",
      "builds_by_pr",
      "builds_by_repo",
      "builds_by_state",
    ]);
    // version 3: the build's delivery is known, so a redelivery of it starts nothing
    expect(db.prepare("SELECT delivery_id, build_id FROM deliveries").all()).toEqual([
      { delivery_id: "d-1", build_id: id },
    ]);
    expect(db.prepare("PRAGMA foreign_key_check").all()).toEqual([]);
    db.close();
  });

  it("change nothing when the database is already at the latest version", () => {
    new BuildStore(dataDir).close();
    const db = new Database(dbPath);
    const schema = () => db.prepare("SELECT sql FROM sqlite_master ORDER BY name").all();
    const before = schema();
    expect(migrate(db)).toEqual({ from: MIGRATIONS.length, to: MIGRATIONS.length });
    expect(schema()).toEqual(before);
    expect(userVersion(db)).toBe(MIGRATIONS.length);
    db.close();
    new BuildStore(dataDir).close();
  });

  it("refuse a database from a newer pyci, and roll back a migration that fails", () => {
    const db = new Database(dbPath);
    migrate(db);
    db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    db.close();
    expect(() => new BuildStore(dataDir)).toThrow(/newer than this pyci knows/);

    const fresh = new Database(join(dataDir, "other.db"));
    const broken = [
      ...MIGRATIONS,
      {
        version: MIGRATIONS.length + 1,
        name: "broken",
        sql: "ALTER TABLE builds ADD COLUMN x TEXT; SELECT * FROM no_such_table;",
      },
    ];
    expect(() => migrate(fresh, broken)).toThrow(/no_such_table/);
    expect(userVersion(fresh)).toBe(0);
    expect(fresh.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all()).toEqual([]);
    expect(() => migrate(fresh, [MIGRATIONS[1]!])).toThrow(/expected 1/);
    fresh.close();
  });
});
