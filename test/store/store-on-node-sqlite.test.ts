import { describe, it, vi } from "vitest";
import { NO_SQLITE_REASON, NODE_HAS_SQLITE } from "../support/action-checkout.js";

/**
 * The store's own tests (build-store, migrations), run again with better-sqlite3 replaced by
 * src/store/node-sqlite-database.ts, as the GitHub Action's bundle replaces it: the adapter
 * must give the store what better-sqlite3 gives it.
 */
vi.mock("better-sqlite3", () => import("../../src/store/node-sqlite-database.js"));

if (NODE_HAS_SQLITE) {
  await import("./build-store.test.js");
  await import("./migrations.test.js");
} else {
  describe("the store on node:sqlite", () => {
    it.skip(`skipped: ${NO_SQLITE_REASON}`, () => {});
  });
}
