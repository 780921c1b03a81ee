import { accessSync, constants, mkdirSync, statfsSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { ProbotOctokit } from "probot";
import { sshOptions } from "../checkout/git-command.js";
import type { Config } from "../config.js";
import type { ServerOptions } from "../http/server-options.js";
import { run } from "../process/exec.js";
import { sandboxSettings } from "../process/sandbox/sandbox-settings.js";
import { sandboxStartupReport } from "../process/sandbox/sandbox-startup-report.js";

/** One line of `pyci doctor`: ok, a warning (builds run, something is off), or a failure (they cannot). */
export interface Check {
  name: string;
  level: "ok" | "warn" | "fail";
  detail: string;
  /** What to do, for a warning or a failure. */
  fix?: string;
}

const ok = (name: string, detail: string): Check => ({ name, level: "ok", detail });
const warn = (name: string, detail: string, fix: string): Check => ({ name, level: "warn", detail, fix });
const fail = (name: string, detail: string, fix: string): Check => ({ name, level: "fail", detail, fix });
const MIB = 1024 * 1024;

/** The GitHub side: the App's credentials (GET /app) and its installations, or the repository webhook's token. */
export async function githubAccess(options: ServerOptions): Promise<Check[]> {
  if (!options.appId || !options.privateKey) {
    if (options.githubToken)
      return [ok("github", "no App: a repository webhook's token (CI_GITHUB_TOKEN), statuses only")];
    return [
      fail(
        "github",
        "no App credentials (APP_ID, PRIVATE_KEY) and no CI_GITHUB_TOKEN",
        "register the App: start pyci without them and open <CI_PUBLIC_URL>/probot (docs/github-app.md)",
      ),
    ];
  }
  const octokit = new ProbotOctokit({
    auth: { appId: options.appId, privateKey: options.privateKey },
    baseUrl: options.baseUrl,
    request: { retries: 0 },
  });
  let app: { slug?: string; html_url: string };
  try {
    app = (await octokit.request("GET /app")).data as { slug?: string; html_url: string };
  } catch (error) {
    return [
      fail(
        "github",
        `GitHub refused the App's credentials (GET /app): ${(error as Error).message}`,
        "check APP_ID and the private key (PRIVATE_KEY or PRIVATE_KEY_PATH) against the App's settings",
      ),
    ];
  }
  const authenticated = ok("github", `App ${app.slug ?? options.appId} (id ${options.appId}) authenticates`);
  let installations: { id: number; account: unknown }[];
  try {
    installations = (await octokit.request("GET /app/installations", { per_page: 100 })).data;
  } catch (error) {
    return [
      authenticated,
      fail("installations", `GitHub did not list the App's installations: ${(error as Error).message}`, "try again"),
    ];
  }
  if (installations.length === 0)
    return [
      authenticated,
      fail("installations", "the App is installed nowhere", `install it: ${app.html_url}/installations/new`),
    ];
  const where = installations.map((i) =>
    i.account && typeof i.account === "object" && "login" in i.account ? String(i.account.login) : String(i.id),
  );
  return [authenticated, ok("installations", `installed on ${where.join(", ")}`)];
}

/**
 * SSH clones, as `ssh -T git@<host>` tries them (GitHub answers "Hi …! You've successfully
 * authenticated" and exit 1): the key refused or the host's key unknown fail; a host that cannot
 * be reached from here is a warning (a firewall may allow only the clones' own route).
 */
export async function sshLogin(config: Config, host: string, port = 22): Promise<Check> {
  let said = "";
  const probe = await run({
    cmd: "ssh",
    args: [
      ...sshOptions(config.sshKeyPath!, config.knownHostsPath),
      ...["-T", "-o", "ConnectTimeout=10", "-p", String(port), `git@${host}`],
    ],
    cwd: "/",
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
    timeoutMs: 20_000,
    log: { write: (text) => (said += text) },
    trusted: true,
  });
  if (/successfully authenticated|Welcome to GitLab/i.test(said)) return ok("ssh login", `git@${host} accepts the key`);
  if (/Host key verification failed|REMOTE HOST IDENTIFICATION/i.test(said))
    return fail(
      "ssh login",
      `${host}'s host key is not in ${config.knownHostsPath}`,
      "add it (ssh-keyscan, checked) to CI_SSH_KNOWN_HOSTS",
    );
  if (/Permission denied/i.test(said))
    return fail(
      "ssh login",
      `git@${host} refuses the key`,
      "add the key's .pub as a deploy key of the repositories (or a machine user's key)",
    );
  return warn(
    "ssh login",
    `could not reach git@${host}: ${lastLine(said) || probe.spawnError || "no answer"}`,
    "check the network to the git host",
  );
}

function lastLine(text: string): string {
  return text.trim().split("\n").at(-1)?.trim() ?? "";
}

/** SSH clones: the key and known_hosts readable, the key not readable by others. */
export function sshKey(config: Config): Check {
  if (config.cloneProtocol !== "ssh") return ok("ssh", "clones over HTTPS with the installation's token");
  const key = config.sshKeyPath!;
  try {
    accessSync(key, constants.R_OK);
    accessSync(config.knownHostsPath, constants.R_OK);
  } catch (error) {
    return fail("ssh", (error as Error).message, "set CI_SSH_KEY_PATH (and CI_SSH_KNOWN_HOSTS) to readable files");
  }
  if ((statSync(key).mode & 0o077) !== 0)
    return fail("ssh", `${key} can be read by others than its owner`, `chmod 600 ${key}`);
  return ok("ssh", `clones over SSH with ${key}, host keys from ${config.knownHostsPath}`);
}

/** The tools builds run: CI_PYTHON (with venv), the bundled pyright, Sphinx for docs. */
export async function tools(config: Config): Promise<Check[]> {
  const env = { PATH: process.env.PATH ?? "/usr/bin:/bin" };
  const ask = (cmd: string, args: string[]) =>
    run({ cmd, args, cwd: "/", env, timeoutMs: 30_000, captureStdout: true, trusted: true });
  const checks: Check[] = [];
  const python = await ask(config.python, ["-c", "import sys, venv; print('%d.%d.%d' % sys.version_info[:3])"]);
  checks.push(
    python.exitCode === 0
      ? ok("python", `${config.python} is Python ${python.stdout.trim()}, with venv`)
      : fail(
          "python",
          `${config.python} cannot run tests: ${python.spawnError ?? `exit ${python.exitCode}`}`,
          "install Python 3 with venv (apt-get install python3-venv) or set CI_PYTHON",
        ),
  );
  const pyright = join(dirname(createRequire(import.meta.url).resolve("pyright/package.json")), "index.js");
  const checked = await ask(process.execPath, [pyright, "--version"]);
  checks.push(
    checked.exitCode === 0
      ? ok("pyright", checked.stdout.trim())
      : fail("pyright", `the bundled pyright does not run (exit ${checked.exitCode})`, "reinstall pyci"),
  );
  const sphinx = await ask(config.python, ["-m", "sphinx", "--version"]);
  const fromPath = sphinx.exitCode === 0 ? sphinx : await ask("sphinx-build", ["--version"]);
  checks.push(
    fromPath.exitCode === 0
      ? ok("sphinx", fromPath.stdout.trim())
      : warn(
          "sphinx",
          "no Sphinx: docs builds of merged pull requests will error",
          "install it (apt-get install python3-sphinx), or list it in the repositories' docs/requirements.txt",
        ),
  );
  return checks;
}

/** The sandbox builds will get, and secret files it would not hide. */
export async function sandbox(config: Config): Promise<Check[]> {
  const report = await sandboxStartupReport(sandboxSettings(config));
  const checks: Check[] = report.problem
    ? [fail("sandbox", report.problem, "see docs/security.md")]
    : [ok("sandbox", report.description ?? "")];
  for (const refusal of report.refusals) checks.push(fail("secrets", refusal, "see the fix above"));
  for (const warning of report.warnings) checks.push(warn("sandbox", warning, "see docs/security.md"));
  return checks;
}

/** CI_DATA_DIR and CI_WORK_DIR: made if missing, writable, with CI_MIN_FREE_DISK free where checkouts go. */
export function directories(config: Config): Check[] {
  const checks: Check[] = [];
  for (const [name, dir] of [
    ["CI_DATA_DIR", config.dataDir],
    ["CI_WORK_DIR", config.workDir],
  ] as const) {
    try {
      mkdirSync(dir, { recursive: true });
      accessSync(dir, constants.W_OK);
    } catch (error) {
      checks.push(fail("dirs", `${name}=${dir}: ${(error as Error).message}`, `make ${dir} writable by pyci's user`));
      continue;
    }
    const owner = statSync(dir).uid;
    if (process.getuid && owner !== process.getuid())
      checks.push(warn("dirs", `${name}=${dir} belongs to uid ${owner}, not pyci's`, `chown it to pyci's user`));
    else checks.push(ok("dirs", `${name}=${dir} is pyci's and writable`));
  }
  const info = statfsSync(config.workDir);
  const free = info.bavail * info.bsize;
  checks.push(
    free >= config.minFreeDiskBytes
      ? ok("disk", `${Math.floor(free / MIB)} MiB free in CI_WORK_DIR`)
      : fail(
          "disk",
          `${Math.floor(free / MIB)} MiB free in CI_WORK_DIR, CI_MIN_FREE_DISK is ${Math.ceil(config.minFreeDiskBytes / MIB)} MiB`,
          "free some disk, or point CI_WORK_DIR elsewhere",
        ),
  );
  return checks;
}
