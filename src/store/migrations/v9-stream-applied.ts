import type { Migration } from "./migration.js";

/**
 * A build run on a `pyci worker` records how far the server applied the worker's event stream
 * (the id of the last entry whose effects are stored): a restarted server reads on from there.
 */
export const v9StreamApplied: Migration = {
  version: 9,
  name: "how far a worker's build stream was applied",
  sql: `ALTER TABLE builds ADD COLUMN stream_applied TEXT;`,
};
