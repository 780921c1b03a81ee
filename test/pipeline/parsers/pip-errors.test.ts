import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { pipErrors } from "../../../src/pipeline/parsers/pip-errors.js";

const fixture = (name: string) => readFileSync(join(__dirname, "../../fixtures/tool-output", name), "utf8").split("\n");

describe("pipErrors", () => {
  it("gives pip's ERROR lines, the most specific last", () => {
    expect(pipErrors(fixture("pip-no-matching-distribution.txt"))).toEqual([
      "ERROR: Could not find a version that satisfies the requirement furo>=2025.07.19 (from versions: none)",
      "ERROR: No matching distribution found for furo>=2025.07.19",
    ]);
  });

  it("finds the ERROR lines of a failed build subprocess inside pip's frame", () => {
    expect(pipErrors(fixture("pip-build-dependencies.txt")).at(-1)).toBe(
      "ERROR: No matching distribution found for setuptools>=40.8.0",
    );
  });

  it("falls back to pip's × headline, an error line, or the last line", () => {
    expect(pipErrors(["× Getting requirements to build wheel did not run successfully.", "│ exit code: 1"])).toEqual([
      "× Getting requirements to build wheel did not run successfully.",
    ]);
    expect(pipErrors(["building", "error: Microsoft Visual C++ is required", "done"])).toEqual([
      "error: Microsoft Visual C++ is required",
    ]);
    expect(pipErrors(["make: *** [all] Error 2", ""])).toEqual(["make: *** [all] Error 2"]);
    expect(pipErrors([])).toEqual([]);
  });
});
