import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateAppKey } from "../test/support/app-key.js";
import { startFakeGitHub, type FakeGitHub } from "../test/support/fake-github.js";
import { makeRepo, type TestRepo } from "../test/support/git-repo.js";
import { startSshd, type TestSshd } from "../test/support/sshd.js";

export const APP_ID = 4242;
export const INSTALLATION_ID = 77;
export const OWNER = "acme";

/** What every measurement shares: the fake GitHub API, the sshd that serves the repositories, the App's secrets. */
export interface Harness {
  fake: FakeGitHub;
  sshd: TestSshd;
  privateKey: string;
  secret: string;
  adminToken: string;
  /** A temporary directory removed by stop(): repositories, data and work directories live under it. */
  root: string;
  /** GIT_SSH_COMMAND for git run by hand (the baselines): the client key, no user config, `knownHostsPath` (default the sshd's). */
  handSsh(knownHostsPath?: string): string;
  /** A real git repository under root, served by sshd. */
  repo(name: string, files: Record<string, string>): TestRepo;
  stop(): Promise<void>;
}

/** Starts the fake GitHub API and a real sshd on loopback, as the server e2e test does. */
export async function startHarness(): Promise<Harness> {
  const privateKey = generateAppKey();
  const [fake, sshd] = await Promise.all([startFakeGitHub({ appId: APP_ID, privateKey }), startSshd()]);
  const root = mkdtempSync(join(tmpdir(), "pyci-bench-"));
  return {
    fake,
    sshd,
    privateKey,
    secret: `pyci-bench-${randomBytes(18).toString("base64url")}`,
    adminToken: randomBytes(24).toString("hex"),
    root,
    handSsh: (knownHostsPath = sshd.knownHostsPath) =>
      `ssh -F /dev/null -i ${sshd.clientKeyPath} -o IdentitiesOnly=yes -o UserKnownHostsFile=${knownHostsPath} -o StrictHostKeyChecking=yes -o BatchMode=yes`,
    repo: (name, files) => makeRepo(files, { dir: join(root, "repos", name) }),
    async stop() {
      await Promise.allSettled([sshd.stop(), fake.stop()]);
      rmSync(root, { recursive: true, force: true });
    },
  };
}
