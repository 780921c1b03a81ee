import type { Migration } from "./migration.js";

/** A step whose result came from the result cache names the build that produced it ({ buildId, createdAt } as JSON). */
export const v5StepReused: Migration = {
  version: 5,
  name: "steps reused from an earlier build",
  sql: `ALTER TABLE steps ADD COLUMN reused_json TEXT;`,
};
