import type { Migration } from "./migration.js";
import { v1Initial } from "./v1-initial.js";
import { v2BuildBranch } from "./v2-build-branch.js";
import { v3Deliveries } from "./v3-deliveries.js";
import { v4Outbox } from "./v4-outbox.js";
import { v5StepReused } from "./v5-step-reused.js";
import { v6TestRuns } from "./v6-test-runs.js";
import { v7DiagnosticFollowOns } from "./v7-diagnostic-follow-ons.js";
import { v8StepAdvice } from "./v8-step-advice.js";
import { v9StreamApplied } from "./v9-stream-applied.js";

/** The schema's whole history, oldest first. Add a file and an entry; never change a released one. */
export const MIGRATIONS: readonly Migration[] = [
  v1Initial,
  v2BuildBranch,
  v3Deliveries,
  v4Outbox,
  v5StepReused,
  v6TestRuns,
  v7DiagnosticFollowOns,
  v8StepAdvice,
  v9StreamApplied,
];
