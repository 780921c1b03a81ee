import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { findDocs } from "../../../../src/pipeline/steps/docs/find-docs.js";
import { makeRepo } from "../../../support/git-repo.js";

const cleanups: (() => void)[] = [];
afterAll(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function repo(files: Record<string, string>): string {
  const made = makeRepo({ "README.md": "# demo\n", ...files });
  cleanups.push(() => made.remove());
  return made.dir;
}

const CONF = 'project = "demo"\n';

describe("findDocs", () => {
  it("finds conf.py in docs/, doc/, docs/source/, doc/source/ or the root", async () => {
    expect(await findDocs(repo({ "docs/conf.py": CONF }))).toBe("docs");
    expect(await findDocs(repo({ "doc/conf.py": CONF }))).toBe("doc");
    expect(await findDocs(repo({ "docs/Makefile": "", "docs/source/conf.py": CONF }))).toBe("docs/source");
    expect(await findDocs(repo({ "doc/source/conf.py": CONF }))).toBe("doc/source");
    expect(await findDocs(repo({ "conf.py": CONF, "index.rst": "Demo\n====\n" }))).toBe(".");
  });

  it("takes the first candidate in that order", async () => {
    expect(await findDocs(repo({ "conf.py": CONF, "docs/conf.py": CONF, "doc/conf.py": CONF }))).toBe("docs");
    expect(await findDocs(repo({ "docs/conf.py": CONF, "docs/source/conf.py": CONF }))).toBe("docs");
    expect(await findDocs(repo({ "conf.py": CONF, "doc/source/conf.py": CONF, "docs/source/conf.py": CONF }))).toBe(
      "docs/source",
    );
    expect(await findDocs(repo({ "conf.py": CONF, "docs/index.rst": "Demo\n====\n" }))).toBe(".");
  });

  it("finds nothing without a conf.py file in those places", async () => {
    expect(await findDocs(repo({}))).toBeUndefined();
    expect(
      await findDocs(repo({ "docs/index.rst": "Demo\n====\n", "manual/conf.py": CONF, "src/conf.py": CONF })),
    ).toBeUndefined();
    const dir = repo({ "docs/index.rst": "" });
    mkdirSync(join(dir, "docs", "conf.py"));
    expect(await findDocs(dir)).toBeUndefined();
  });

  it("looks only in the configured directory when there is one, normalizing its name", async () => {
    const dir = repo({ "docs/conf.py": CONF, "manual/en/conf.py": CONF, "conf.py": CONF });
    expect(await findDocs(dir, "manual/en")).toBe("manual/en");
    expect(await findDocs(dir, "./manual/en/")).toBe("manual/en");
    expect(await findDocs(dir, ".")).toBe(".");
    expect(await findDocs(dir, "./")).toBe(".");
    expect(await findDocs(dir, "manual")).toBeUndefined();
    expect(await findDocs(dir, "nowhere")).toBeUndefined();
  });
});
