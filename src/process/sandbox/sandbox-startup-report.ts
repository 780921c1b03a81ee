import { join } from "node:path";
import { readableSecrets } from "../../secrets/readable-secrets.js";
import { resolveSandbox, type SandboxSettings } from "./resolve-sandbox.js";

export interface SandboxReport {
  /** "bwrap, each build as a uid of its own (…)", "user: …", "off: …"; absent when the sandbox cannot run. */
  description?: string;
  /** Things the operator should fix, one sentence each (no secret values: paths and modes only). */
  warnings: string[];
  /** Set when every build will error: CI_SANDBOX asks for what this machine cannot do. */
  problem?: string;
  /**
   * Why pyci must not start, one sentence each naming the file and the chmod
   * that fixes it: secret files the sandbox user can read in a sandbox that
   * hides none (user). Empty otherwise.
   */
  refusals: string[];
}

/**
 * What pyci tells the operator at start-up about the sandbox: which one
 * builds get, and the secret files (settings.hidden: key files, the data dir
 * and its pyci.db, .env, the working directory's *.pem) that other users can
 * read (readableSecrets). The code under test runs as such a user (a build
 * uid): in `user` mode, also when `auto` ends there, nothing is hidden from
 * it, so each such file is a refusal; in `bwrap` (which hides them) and
 * `off` (where the code runs as pyci's own user and reads everything
 * anyway), a warning.
 */
export async function sandboxStartupReport(settings: SandboxSettings): Promise<SandboxReport> {
  const policy = await resolveSandbox(settings);
  const warnings: string[] = [];
  const refusals: string[] = [];
  if (policy.ok && policy.sandbox.kind === "off") {
    warnings.push(
      "CI_SANDBOX=off: the code under test runs unconfined as pyci's own user and can read every file pyci can, keys included",
    );
  }
  const secrets = [...settings.hidden, ...settings.hidden.map((p) => join(p, "pyci.db"))];
  const unhidden = policy.ok && policy.sandbox.kind === "user";
  for (const { path, fix } of readableSecrets(secrets)) {
    if (unhidden)
      refusals.push(
        `${path} is a secret that every user of this machine can read, the build uids (CI_SANDBOX_UIDS) that run the code under test among them: the user sandbox hides no file. Fix: ${fix}`,
      );
    else warnings.push(`${path} is a secret, and every user of this machine can read it: ${fix}`);
  }
  if (!policy.ok) return { warnings, problem: policy.problem, refusals };
  return { description: policy.description, warnings, refusals };
}
