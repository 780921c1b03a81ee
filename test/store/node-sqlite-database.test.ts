import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import Database from "../../src/store/node-sqlite-database.js";
import { NO_SQLITE_REASON, NODE_HAS_SQLITE } from "../support/action-checkout.js";

/** What better-sqlite3 does and the store relies on, beyond what its own tests (store-on-node-sqlite) reach. */
describe.skipIf(!NODE_HAS_SQLITE)(
  `better-sqlite3's API over node:sqlite${NODE_HAS_SQLITE ? "" : ` — skipped: ${NO_SQLITE_REASON}`}`,
  () => {
    let dir: string;
    let db: Database;
    const count = () => (db.prepare("SELECT count(*) AS n FROM t").get() as { n: number }).n;

    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), "pyci-node-sqlite-"));
      db = new Database(join(dir, "test.db"), { timeout: 100 });
      db.exec("CREATE TABLE t (a INTEGER, b TEXT)");
    });
    afterEach(() => {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it("binds named parameters without their prefix, ignoring keys the statement does not name", () => {
      const insert = db.prepare("INSERT INTO t (a, b) VALUES (@a, @b)");
      expect(insert.run({ a: 1, b: "one", unused: "x" }).changes).toBe(1);
      expect(db.prepare("SELECT a, b FROM t WHERE a = ?").get(1)).toEqual({ a: 1, b: "one" });
      expect(db.prepare("DELETE FROM t").run().changes).toBe(1);
    });

    it("reads a pragma as rows, or its one value with simple", () => {
      db.pragma("user_version = 7");
      expect(db.pragma("user_version", { simple: true })).toBe(7);
      expect(db.pragma("user_version")).toEqual([{ user_version: 7 }]);
      expect(db.name).toBe(join(dir, "test.db"));
    });

    it("commits a transaction, rolls it back when it throws, and passes arguments and results through", () => {
      const add = db.transaction((a: number) => db.prepare("INSERT INTO t (a) VALUES (?)").run(a).changes);
      expect(add.immediate(1)).toBe(1);
      const fail = db.transaction(() => {
        db.prepare("INSERT INTO t (a) VALUES (2)").run();
        throw new Error("no");
      });
      expect(() => fail()).toThrow("no");
      expect(count()).toBe(1);
    });

    it("nests a transaction as a savepoint: an inner failure caught outside undoes only the inner writes", () => {
      const inner = db.transaction(() => {
        db.prepare("INSERT INTO t (a) VALUES (2)").run();
        throw new Error("inner");
      });
      const outer = db.transaction(() => {
        db.prepare("INSERT INTO t (a) VALUES (1)").run();
        expect(() => inner()).toThrow("inner");
        db.prepare("INSERT INTO t (a) VALUES (3)").run();
      });
      outer.exclusive();
      expect(db.prepare("SELECT a FROM t ORDER BY a").all()).toEqual([{ a: 1 }, { a: 3 }]);
      // the depth is back to none: a new transaction begins, not a savepoint
      db.transaction(() => db.prepare("INSERT INTO t (a) VALUES (4)").run()).deferred();
      expect(count()).toBe(3);
    });
  },
);
