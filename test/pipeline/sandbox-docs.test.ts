import { randomBytes } from "node:crypto";
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DOCS_PIPELINE } from "../../src/pipeline/docs-pipeline.js";
import type { SandboxSettings } from "../../src/process/sandbox/resolve-sandbox.js";
import { runStages } from "../../src/pipeline/run-stages.js";
import { testStep } from "../../src/pipeline/steps/test.js";
import type { RepoConfig, StepResult } from "../../src/pipeline/types.js";
import { makeRepo } from "../support/git-repo.js";
import { BWRAP, ROOT_USER, base32Decode } from "../support/hostile-build.js";

/**
 * The repository's code beyond its tests: the docs' conf.py (and what it
 * imports), the docs requirements' install, and whatever the test suite
 * leaves where pyci reads its results. Each is run as the server runs it,
 * in each sandbox this machine has, and must get nothing of the server's.
 */
/** Debian's python3, which has Sphinx and which every uid can run. */
const SYSTEM_PYTHON = "/usr/bin/python3";
const UIDS = { first: 920_000, count: 1_000 };

const secrets = mkdtempSync(join(tmpdir(), "pyci-docs-secrets-"));
const keyPath = join(secrets, "app.pem");
const dataDir = join(secrets, "data");
const KEY = "MIIEdocssandboxkeycontent0123456789";
writeFileSync(keyPath, `-----BEGIN RSA PRIVATE KEY-----\n${KEY}\n`, { mode: 0o600 });
mkdirSync(dataDir, { mode: 0o700 });
writeFileSync(join(dataDir, "pyci.db"), "SQLite format 3 docs-db-content", { mode: 0o600 });
/**
 * Another build's checkout, running at the same time: a private directory of
 * pyci's (as createWorkspace makes them) whose src/ belongs to that build's uid.
 */
const neighbour = mkdtempSync(join(tmpdir(), "pyci-build-"));
const neighbourFile = join(neighbour, "src", "secret_test.py");
const NEIGHBOUR = `neighbour-${randomBytes(12).toString("hex")}`;
mkdirSync(join(neighbour, "src"), { mode: 0o700 });
writeFileSync(neighbourFile, `TOKEN = "${NEIGHBOUR}"\n`, { mode: 0o600 });
chmodSync(neighbour, 0o711);
if (ROOT_USER) {
  for (const path of [join(neighbour, "src"), neighbourFile]) chownSync(path, UIDS.first + 999, UIDS.first + 999);
}
const cleanups: (() => void)[] = [
  () => rmSync(secrets, { recursive: true, force: true }),
  () => rmSync(neighbour, { recursive: true, force: true }),
];
afterAll(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** Reads what it must not, prints what it got in base32 (past the log's masking) and who it runs as. */
const STEAL = `
import base64, os
def steal(where):
    print(where, "UID", os.getuid())
    for path in ${JSON.stringify([keyPath, join(dataDir, "pyci.db"), dataDir])}:
        try:
            got = repr(os.listdir(path)) if os.path.isdir(path) else open(path, "rb").read().decode("utf-8", "replace")
            print(where, "STOLEN", path, base64.b32encode(got.encode()).decode())
        except OSError as e:
            print(where, "DENIED", path, type(e).__name__)
    servers = 0
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if b"WEBHOOK_SECRET" in open("/proc/%s/environ" % pid, "rb").read():
                    servers += 1
            except OSError:
                pass
    print(where, "ENVIRONS-WITH-SECRETS", servers)
    # other builds' files: every pyci-build-* directory in /tmp, walked, and the neighbour's file by name
    for top in os.listdir("/tmp"):
        if top.startswith("pyci-build-"):
            for root, dirs, files in os.walk(os.path.join("/tmp", top)):
                for name in files:
                    try:
                        print(where, "OTHER-BUILD", base64.b32encode(open(os.path.join(root, name), "rb").read()).decode())
                    except OSError:
                        pass
    try:
        print(where, "OTHER-BUILD", base64.b32encode(open(${JSON.stringify(neighbourFile)}, "rb").read()).decode())
    except OSError as e:
        print(where, "DENIED", ${JSON.stringify(neighbourFile)}, type(e).__name__)
`;

const STEAL_SCRIPT = `${STEAL}
if __name__ == "__main__":
    import sys
    steal(sys.argv[1])
`;

const CONF = `import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import steal
steal.steal("CONF")
project = "hostile"
`;

function config(extra: Partial<RepoConfig["docs"]> = {}): RepoConfig {
  return {
    check: { enforceTypeErrors: undefined },
    test: { startDir: ".", pattern: "test*.py" },
    install: [],
    docs: { install: [], warningsAsErrors: false, ...extra },
  };
}

async function pipeline(
  settings: SandboxSettings,
  files: Record<string, string>,
  repoConfig: RepoConfig,
  stages = DOCS_PIPELINE.stages,
) {
  const repo = makeRepo(files);
  const scratchDir = mkdtempSync(join(tmpdir(), "pyci-scratch-"));
  cleanups.push(
    () => repo.remove(),
    () => rmSync(scratchDir, { recursive: true, force: true }),
  );
  let text = "";
  const results: StepResult[] = await runStages(stages, {
    dir: repo.dir,
    scratchDir,
    repoConfig,
    python: SYSTEM_PYTHON,
    timeoutMs: 120_000,
    sandbox: settings,
    openLog: () => ({ write: (t) => (text += t), close() {} }),
  });
  return { results, text, scratchDir };
}

function stolen(text: string): string[] {
  return [...text.matchAll(/STOLEN \S+ (\S+)/g)].map((m) => base32Decode(m[1]!).toString());
}

const modes = [
  { mode: "bwrap" as const, runs: BWRAP },
  { mode: "user" as const, runs: ROOT_USER && existsSync(SYSTEM_PYTHON) },
];

describe.each(modes)("repository code beyond the tests, CI_SANDBOX=$mode", ({ mode, runs }) => {
  const settings: SandboxSettings = { mode, uids: UIDS, hidden: [keyPath, dataDir] };

  it.skipIf(!runs)(
    "a hostile conf.py and docs install command get nothing of the server's, and the docs still build",
    async () => {
      process.env.WEBHOOK_SECRET = "docs-sandbox-webhook-secret";
      cleanups.push(() => delete process.env.WEBHOOK_SECRET);
      const files = {
        "docs/conf.py": CONF,
        "docs/steal.py": STEAL_SCRIPT,
        "docs/index.rst": "Hostile\n=======\n\nHello.\n",
      };
      const { results, text } = await pipeline(settings, files, config({ install: ["python docs/steal.py INSTALL"] }));
      expect(results.map((r) => [r.name, r.state, r.summary])).toEqual([
        ["docs", "success", expect.stringMatching(/^Docs built: 1 page/)],
      ]);
      for (const where of ["CONF", "INSTALL"]) {
        const uid = Number(new RegExp(`^${where} UID (\\d+)$`, "m").exec(text)?.[1]);
        if (ROOT_USER) expect(uid, where).toBeGreaterThanOrEqual(UIDS.first);
        expect(text).toMatch(new RegExp(`^${where} ENVIRONS-WITH-SECRETS 0$`, "m"));
        for (const path of [keyPath, dataDir, neighbourFile])
          expect(text).toMatch(new RegExp(`^${where} DENIED ${path} (PermissionError|FileNotFoundError)$`, "m"));
      }
      expect(stolen(text)).toEqual([]);
      const fromOtherBuilds = [...text.matchAll(/OTHER-BUILD (\S*)/g)].map((m) => base32Decode(m[1]!).toString());
      expect(fromOtherBuilds.filter((content) => content.includes(NEIGHBOUR))).toEqual([]);
      expect(text).not.toContain(KEY);
    },
    180_000,
  );

  it.skipIf(!runs)(
    "the test step ends in error when the suite leaves a FIFO or a link where its results go",
    async () => {
      const leave = (what: string) => `import atexit, os, unittest

RESULTS = os.path.join(os.path.dirname(os.environ["TMPDIR"]), "unittest-results.json")


def swap():
    os.remove(RESULTS)
    ${what}


atexit.register(swap)


class T(unittest.TestCase):
    def test_ok(self):
        pass
`;
      for (const what of ["os.mkfifo(RESULTS)", `os.symlink(${JSON.stringify(keyPath)}, RESULTS)`]) {
        const started = Date.now();
        const { results } = await pipeline(settings, { "test_swap.py": leave(what) }, config(), [[testStep]]);
        expect(
          results.map((r) => [r.name, r.state]),
          what,
        ).toEqual([["test", "error"]]);
        expect(results[0]!.summary).toMatch(
          /results could not be read: unittest-results.json is (not a regular file|a symbolic link)/,
        );
        expect(Date.now() - started).toBeLessThan(60_000);
      }
      expect(statSync(keyPath).mode & 0o777).toBe(0o600);
      expect(readFileSync(keyPath, "utf8")).toContain(KEY);
    },
    180_000,
  );
});
