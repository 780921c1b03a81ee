import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { latestStatus } from "../support/fake-github.js";
import { BWRAP, ROOT_USER, type SandboxMode, SYSTEM_PYTHON } from "../support/hostile-build.js";
import { startSandboxedServer, type SandboxedServer } from "../support/sandboxed-server.js";
import { sandboxUids } from "../support/server-process.js";

/**
 * The code under test is hostile: it dumps its environment and tries to read
 * the server's key files, database, .env and the server process's own
 * environment. The real server (`node dist/server.js`, `npm run build` first),
 * with every secret set the ways an operator sets them, must show none of it
 * on the build page, in the logs, or in the check run — in each sandbox this
 * machine can run.
 */

const APP_ID = 4343;
const INSTALLATION_ID = 78;
const REPO = "hostile";

const modes: SandboxMode[] = [
  { mode: "bwrap", python: "python3", runs: BWRAP },
  { mode: "user", python: SYSTEM_PYTHON ?? "python3", runs: ROOT_USER && !!SYSTEM_PYTHON },
];

function hostileTest(paths: string[]): string {
  return `import json, os, unittest

PATHS = ${JSON.stringify(paths)}


class Hostile(unittest.TestCase):
    def test_steal(self):
        print("ENV=" + json.dumps(dict(os.environ), sort_keys=True))
        print("UID", os.getuid())
        for path in PATHS:
            try:
                if os.path.isdir(path):
                    print("STOLEN-LIST", path, os.listdir(path))
                else:
                    with open(path, "rb") as f:
                        print("STOLEN", path, f.read().decode("utf-8", "replace"))
            except OSError as e:
                print("DENIED", path, type(e).__name__)
`;
}

describe.each(modes)("untrusted code under test, CI_SANDBOX=$mode", (sandbox) => {
  const { runs } = sandbox;
  const awsDecoy = `aws-decoy-${randomBytes(18).toString("hex")}`;
  const dotenvDecoy = `dotenv-decoy-${randomBytes(18).toString("hex")}`;
  let pyci: SandboxedServer;

  beforeAll(async () => {
    if (!runs) return;
    pyci = await startSandboxedServer(sandbox, {
      appId: APP_ID,
      installationId: INSTALLATION_ID,
      keyFile: true,
      cwdFiles: { ".env": `DECOY_API_TOKEN=${dotenvDecoy}\n` },
      env: { AWS_SECRET_ACCESS_KEY: awsDecoy, CI_CONCURRENCY: "1" },
    });
  }, 60_000);

  afterAll(async () => {
    if (!runs) return;
    await pyci?.stop();
  });

  it.skipIf(!runs)(
    "dumps nothing secret and reads none of the server's files",
    async () => {
      const { fake, sshd, server, cwd, dataDir, privateKey, webhookSecret } = pyci;
      const targets = [
        pyci.keyPath!,
        sshd.clientKeyPath,
        join(dataDir, "pyci.db"),
        dataDir,
        join(cwd, ".env"),
        `/proc/${server.child.pid}/environ`,
      ];
      const sha = await pyci.openPullRequest(REPO, { "test_hostile.py": hostileTest(targets) });
      await fake.waitFor(() => fake.checkRuns.some((r) => r.fields.status === "completed"), 90_000);

      // the suite ran, in the sandbox, and its reads all failed
      const test = latestStatus(fake.statuses, sha, "ci/test")!.body;
      expect(test.state, JSON.stringify(test)).toBe("success");
      const buildUrl = test.target_url as string;
      const logText = await (await fetch(`${buildUrl}/test.log`)).text();
      expect(logText).toContain("ENV=");
      expect(logText).not.toMatch(/STOLEN/);
      const denied = [...logText.matchAll(/^DENIED (\S+) (\w+)$/gm)].map((m) => [m[1], m[2]]);
      expect(denied).toHaveLength(6);
      for (const [, error] of denied) expect(error).toMatch(/^(PermissionError|FileNotFoundError)$/);
      // a uid of the build's own (from the server's CI_SANDBOX_UIDS), not root's, not nobody's
      const uid = Number(/^UID (\d+)$/m.exec(logText)?.[1]);
      const [first, last] = sandboxUids(dataDir).split("-").map(Number);
      expect(uid).toBeGreaterThanOrEqual(first!);
      expect(uid).toBeLessThanOrEqual(last!);

      // its environment is the allow-list
      const env = JSON.parse(/ENV=(\{.*\})$/m.exec(logText)![1]!) as Record<string, string>;
      const allowed = /^(PATH|HOME|TMPDIR|LANG|LC_ALL|PYTHON[A-Z]+|PIP_[A-Z_]+|PYCI_RUN|PWD|SHLVL|_)$/;
      expect(Object.keys(env).filter((name) => !allowed.test(name))).toEqual([]);

      // and nothing secret is anywhere pyci shows or stores
      const html = await (await fetch(buildUrl)).text();
      const run = fake.checkRuns.at(-1)!;
      const keyLines = (text: string) => text.split("\n").filter((l) => l.length >= 16 && !l.startsWith("-----"));
      const secrets = [
        webhookSecret,
        awsDecoy,
        dotenvDecoy,
        ...keyLines(privateKey),
        ...keyLines(readFileSync(sshd.clientKeyPath, "utf8")),
      ];
      const places: [string, string][] = [
        ["test.log", logText],
        ["build page", html],
        ["check run", JSON.stringify(run.fields)],
        ["statuses", JSON.stringify(fake.statuses)],
      ];
      for (const [where, text] of places) {
        expect(
          secrets.filter((s) => text.includes(s)),
          `secrets in ${where}`,
        ).toEqual([]);
        expect(text, where).not.toContain("SQLite format 3");
      }
    },
    120_000,
  );
});
