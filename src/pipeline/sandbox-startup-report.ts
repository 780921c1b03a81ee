import { statSync } from "node:fs";
import { join } from "node:path";
import { resolveSandbox, type SandboxSettings } from "./resolve-sandbox.js";

export interface SandboxReport {
  /** "bwrap, as nobody", "user: …", "off: …"; absent when the sandbox cannot run. */
  description?: string;
  /** Things the operator should fix, one sentence each (no secret values: paths and modes only). */
  warnings: string[];
  /** Set when every build will error: CI_SANDBOX asks for what this machine cannot do. */
  problem?: string;
}

/**
 * What pyci tells the operator at start-up about the sandbox: which one
 * builds get, and the secret files (key files, the data dir and pyci.db,
 * .env) that other users may read — the sandbox user among them, when the
 * code under test runs as one without bwrap hiding them.
 */
export async function sandboxStartupReport(settings: SandboxSettings): Promise<SandboxReport> {
  const policy = await resolveSandbox(settings);
  const warnings: string[] = [];
  if (policy.ok && policy.sandbox.kind === "off") {
    warnings.push("CI_SANDBOX=off: the code under test runs unconfined as pyci's own user and can read every file pyci can, keys included");
  }
  for (const path of [...settings.hidden, ...settings.hidden.map((p) => join(p, "pyci.db"))]) {
    let mode: number;
    try {
      mode = statSync(path).mode;
    } catch {
      continue;
    }
    if ((mode & 0o004) !== 0) warnings.push(`${path} is readable by every user of this machine (mode ${(mode & 0o777).toString(8)}): chmod o-rwx ${path}`);
  }
  if (!policy.ok) return { warnings, problem: policy.problem };
  return { description: policy.description, warnings };
}
