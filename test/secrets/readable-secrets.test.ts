import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readableSecrets } from "../../src/secrets/readable-secrets.js";

const dir = mkdtempSync(join(tmpdir(), "pyci-readable-secrets-"));
chmodSync(dir, 0o755);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(path: string, mode: number): string {
  writeFileSync(path, "secret");
  chmodSync(path, mode);
  return path;
}

function directory(path: string, mode: number): string {
  mkdirSync(path);
  chmodSync(path, mode);
  return path;
}

describe("readableSecrets", () => {
  it("finds a file other users can read, with the chmod that stops them", () => {
    const open = file(join(dir, "open.pem"), 0o644);
    expect(readableSecrets([open, file(join(dir, "closed.pem"), 0o600), file(join(dir, "group.pem"), 0o640)])).toEqual([
      { path: open, fix: `chmod o-rwx ${open}` },
    ]);
  });

  it("counts the directories above: a readable file in a directory others cannot search is safe", () => {
    const locked = directory(join(dir, "locked"), 0o700);
    const searchable = directory(join(dir, "searchable"), 0o711);
    const inLocked = file(join(locked, "app.pem"), 0o644);
    const inSearchable = file(join(searchable, "pyci.db"), 0o644);
    const deeper = directory(join(locked, "deeper"), 0o755);
    expect(readableSecrets([inLocked, inSearchable, file(join(deeper, "key"), 0o644)])).toEqual([
      { path: inSearchable, fix: `chmod o-rwx ${inSearchable}` },
    ]);
  });

  it("counts a directory others can list, not one they can only search", () => {
    const listable = directory(join(dir, "data-listable"), 0o755);
    expect(readableSecrets([listable, directory(join(dir, "data-private"), 0o711)])).toEqual([
      { path: listable, fix: `chmod o-rwx ${listable}` },
    ]);
  });

  it("follows symbolic links to where the file really is", () => {
    const hidden = directory(join(dir, "hidden"), 0o700);
    const target = file(join(hidden, "real.pem"), 0o644);
    const link = join(dir, "link.pem");
    symlinkSync(target, link);
    expect(readableSecrets([link])).toEqual([]);
    chmodSync(hidden, 0o755);
    expect(readableSecrets([link])).toEqual([{ path: link, fix: `chmod o-rwx ${link}` }]);
  });

  it("skips what does not exist, and quotes a path the shell would split", () => {
    const spaced = directory(join(dir, "my keys"), 0o755);
    const key = file(join(spaced, "it's.pem"), 0o604);
    expect(readableSecrets([join(dir, "missing.pem"), key])).toEqual([
      { path: key, fix: `chmod o-rwx '${spaced}/it'\\''s.pem'` },
    ]);
  });
});
