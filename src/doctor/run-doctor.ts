import { type Config, ConfigError, loadConfig } from "../config.js";
import { serverEnv } from "../config/server-env.js";
import { serverOptions } from "../http/server-options.js";
import { directories, githubAccess, sandbox, sshKey, sshLogin, tools, type Check } from "./doctor-checks.js";

const MARK = { ok: "✓", warn: "!", fail: "✗" } as const;

/**
 * `pyci doctor`: checks what a server needs, as `npm start` would read it
 * (`.env` in the working directory, the environment, `*_FILE` secrets), and
 * prints one line per check with what to do. Returns 0 only when the server
 * can run builds (warnings allowed), else 1.
 */
export async function runDoctor(
  write: (line: string) => void,
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): Promise<number> {
  const checks: Check[] = [];
  const say = (check: Check) => {
    checks.push(check);
    write(`${MARK[check.level]} ${check.name}: ${check.detail}${check.fix ? ` → ${check.fix}` : ""}`);
  };
  let full: NodeJS.ProcessEnv;
  let config: Config;
  try {
    full = serverEnv(cwd, env);
    config = loadConfig(full);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const problem of error.problems) say({ name: "config", level: "fail", detail: problem });
    return 1;
  }
  say({
    name: "config",
    level: "ok",
    detail: `${config.production ? "production" : "development"}, ${config.publicUrl}`,
  });
  for (const check of await githubAccess(serverOptions(full))) say(check);
  const ssh = sshKey(config);
  say(ssh);
  if (config.cloneProtocol === "ssh" && ssh.level === "ok") say(await sshLogin(config, gitHost(full)));
  for (const check of await tools(config)) say(check);
  for (const check of await sandbox(config)) say(check);
  for (const check of directories(config)) say(check);
  const failed = checks.filter((c) => c.level === "fail").length;
  write(failed === 0 ? "pyci can run builds here." : `pyci cannot run builds here: ${failed} problem(s) above.`);
  return failed === 0 ? 0 : 1;
}

/** Where repositories are cloned from: GitHub Enterprise's host (GHE_HOST, without its port), else github.com. */
function gitHost(env: NodeJS.ProcessEnv): string {
  return env.GHE_HOST?.trim().replace(/:\d+$/, "") || "github.com";
}
