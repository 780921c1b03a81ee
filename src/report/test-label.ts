import type { TestCaseResult } from "../pipeline/types.js";

/**
 * How a test result is named wherever it is shown: its unittest id, then
 * the subtest's parameters as unittest prints them, then the module it ran
 * from when its id names another ("tests.test_a.Base.test_value (run from
 * tests.test_b)"), so that no two results of one run read the same.
 */
export function testLabel(t: Pick<TestCaseResult, "id" | "subtest" | "module">): string {
  return `${t.id}${t.subtest ? ` ${t.subtest}` : ""}${t.module ? ` (run from ${t.module})` : ""}`;
}
