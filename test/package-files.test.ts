import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { relative } from "node:path";
import { describe, expect, it } from "vitest";
import { PYCI_YML_SCHEMA, packageFile } from "../src/package-files.js";

describe("package-files", () => {
  it("points at the schema of .github/pyci.yml, which the package ships (package.json files)", () => {
    expect(existsSync(PYCI_YML_SCHEMA)).toBe(true);
    const packed = execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], {
      encoding: "utf8",
      env: { ...process.env, npm_config_update_notifier: "false" },
    });
    const files = (JSON.parse(packed) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
    expect(files).toContain(relative(packageFile(), PYCI_YML_SCHEMA));
  });
});
