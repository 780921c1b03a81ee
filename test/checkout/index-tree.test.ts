import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { rootTreeFromIndex, rootTreeOf } from "../../src/checkout/index-tree.js";
import { makeRepo } from "../support/git-repo.js";

// paths of every length modulo 8 (the entries' padding), nested directories, an executable and a symlink-like name
const files: Record<string, string> = {
  "setup.cfg": "[metadata]\n",
  "pkg/__init__.py": "",
  "pkg/sub/deep/mod.py": "x = 1\n",
};
for (let n = 1; n <= 17; n++) files[`${"m".repeat(n)}.py`] = `v = ${n}\n`;
const repo = makeRepo(files);
afterAll(() => repo.remove());
const index = join(repo.dir, ".git", "index");
const tree = repo.git("rev-parse", "HEAD^{tree}");

describe("the root tree from the index read-tree wrote", () => {
  it("is the commit's tree, for index versions 2 and 3 and an entry with extended flags", async () => {
    repo.git("read-tree", "HEAD");
    expect(readFileSync(index).readUInt32BE(4)).toBe(2);
    expect(await rootTreeFromIndex(index)).toBe(tree);
    repo.git("update-index", "--index-version", "3");
    repo.git("update-index", "--skip-worktree", "pkg/sub/deep/mod.py"); // an extended flag: two more bytes in that entry
    expect(readFileSync(index).readUInt32BE(4)).toBe(3);
    expect(repo.git("ls-files", "-v", "pkg/sub/deep/mod.py")).toMatch(/^S /);
    // changing a flag invalidates the cache-tree; write-tree records it again
    expect(await rootTreeFromIndex(index)).toBeUndefined();
    expect(repo.git("write-tree")).toBe(tree);
    expect(await rootTreeFromIndex(index)).toBe(tree);
  });

  it("is not guessed when the index cannot say: an invalidated root, version 4, no index, a damaged one", async () => {
    repo.git("read-tree", "HEAD");
    repo.git("update-index", "--index-version", "4");
    expect(await rootTreeFromIndex(index)).toBeUndefined();
    repo.git("read-tree", "HEAD");
    repo.git("update-index", "--index-version", "2");
    const primed = readFileSync(index);
    expect(rootTreeOf(primed)).toBe(tree);
    // a staged change invalidates the root entry (-1 entries, no id)
    repo.git(
      "update-index",
      "--add",
      "--cacheinfo",
      `100644,${repo.git("hash-object", "-w", "setup.cfg")},new-file.py`,
    );
    expect(await rootTreeFromIndex(index)).toBeUndefined();
    expect(await rootTreeFromIndex(join(repo.dir, "no-such-index"))).toBeUndefined();
    // every prefix of a good index: the right tree or nothing, never an exception or another id
    for (let length = 0; length < primed.length; length++) {
      expect([undefined, tree]).toContain(rootTreeOf(primed.subarray(0, length)));
    }
    const corrupt = Buffer.from(primed);
    corrupt.write("XXXX", 0, "latin1");
    expect(rootTreeOf(corrupt)).toBeUndefined();
  });
});
