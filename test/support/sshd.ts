import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, connect } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";

export interface TestSshd {
  port: number;
  host: "127.0.0.1";
  /** Private key (ed25519) that the server accepts for the current user. */
  clientKeyPath: string;
  /** A known_hosts file holding exactly this server's host key: `[127.0.0.1]:PORT ssh-ed25519 AAAA…`. */
  knownHostsPath: string;
  /** The public host key line (`ssh-ed25519 AAAA…`), e.g. to build a known_hosts of your own. */
  hostKey: string;
  /** `ssh://<user>@127.0.0.1:<port><repoPath>`; repoPath must be absolute. */
  sshUrl(repoPath: string): string;
  /** Everything sshd wrote to stderr so far (it runs with -e), for diagnosing failed logins. */
  log(): string;
  stop(): Promise<void>;
}

const SSHD = "/usr/sbin/sshd";
const HOST = "127.0.0.1";
const START_ATTEMPTS = 3;

/**
 * A real OpenSSH sshd on a free loopback port, for the current user only, with throwaway keys.
 * Logins run the user's login shell, so `git clone ssh://…` reaches `git-upload-pack` as usual.
 */
export async function startSshd(): Promise<TestSshd> {
  if (!existsSync(SSHD)) {
    throw new Error(`${SSHD} is missing: install openssh-server (apt-get install -y openssh-server)`);
  }
  ensurePrivsepDir();
  const user = userInfo().username;
  const dir = mkdtempSync(join(tmpdir(), "pyci-sshd-"));
  chmodSync(dir, 0o700);
  try {
    const hostKeyPath = join(dir, "ssh_host_ed25519_key");
    const clientKeyPath = join(dir, "client_ed25519");
    keygen(hostKeyPath, "pyci-test-host");
    keygen(clientKeyPath, "pyci-test-client");
    const authorizedKeysPath = join(dir, "authorized_keys");
    writeFileSync(authorizedKeysPath, readFileSync(`${clientKeyPath}.pub`), { mode: 0o600 });
    const hostKey = publicKeyLine(`${hostKeyPath}.pub`);

    let lastError: unknown;
    for (let attempt = 0; attempt < START_ATTEMPTS; attempt++) {
      const port = await freePort();
      const configPath = join(dir, "sshd_config");
      writeFileSync(configPath, sshdConfig({ dir, port, hostKeyPath, authorizedKeysPath, user }), { mode: 0o600 });
      try {
        const { child, log } = await launch(configPath, port);
        const knownHostsPath = join(dir, "known_hosts");
        writeFileSync(knownHostsPath, `[${HOST}]:${port} ${hostKey}\n`, { mode: 0o600 });
        return {
          port,
          host: HOST,
          clientKeyPath,
          knownHostsPath,
          hostKey,
          sshUrl(repoPath) {
            if (!repoPath.startsWith("/")) throw new Error(`sshUrl needs an absolute path, got ${repoPath}`);
            return `ssh://${user}@${HOST}:${port}${repoPath}`;
          },
          log,
          async stop() {
            await kill(child);
            rmSync(dir, { recursive: true, force: true });
          },
        };
      } catch (error) {
        lastError = error; // most likely the port was taken between freePort() and bind: try another
      }
    }
    throw lastError;
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

function sshdConfig(o: {
  dir: string;
  port: number;
  hostKeyPath: string;
  authorizedKeysPath: string;
  user: string;
}): string {
  return [
    `ListenAddress ${HOST}`,
    `Port ${o.port}`,
    `HostKey ${o.hostKeyPath}`,
    `PidFile ${join(o.dir, "sshd.pid")}`,
    `AuthorizedKeysFile ${o.authorizedKeysPath}`,
    "PubkeyAuthentication yes",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "PermitRootLogin prohibit-password",
    "UsePAM no",
    // The keys live under /tmp (mode 1777), which StrictModes would reject as an unsafe path.
    "StrictModes no",
    `AllowUsers ${o.user}`,
    "PrintMotd no",
    "PrintLastLog no",
    "X11Forwarding no",
    "AllowTcpForwarding no",
    "PermitUserEnvironment no",
    "LogLevel VERBOSE",
    // The login shell runs the remote command (git-upload-pack); bash reads the user's ~/.bashrc when
    // sshd starts it, unless it is not the top-level shell. On a developer's machine that rc can cost
    // seconds (pyenv init) per connection, which GitHub's servers never spend: SHLVL=1 skips it.
    "SetEnv SHLVL=1",
    // git's wire protocol v2, as GitHub speaks it over SSH (git sends GIT_PROTOCOL=version=2)
    "AcceptEnv GIT_PROTOCOL",
    "",
  ].join("\n");
}

/** sshd refuses to start without its privilege separation directory (root-owned, not group/world-writable). */
function ensurePrivsepDir(): void {
  if (existsSync("/run/sshd")) return;
  try {
    mkdirSync("/run/sshd", { mode: 0o755, recursive: true });
  } catch (error) {
    if (process.getuid?.() === 0) throw error; // as non-root, sshd runs without privilege separation
  }
}

function keygen(path: string, comment: string): void {
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path], { stdio: "pipe" });
}

/** `ssh-ed25519 AAAA…` without the comment. */
function publicKeyLine(pubPath: string): string {
  const [type, key] = readFileSync(pubPath, "utf8").trim().split(/\s+/);
  return `${type} ${key}`;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function launch(configPath: string, port: number): Promise<{ child: ChildProcess; log: () => string }> {
  // Validate the config first: `sshd -t` gives a clear message where -D would just exit.
  execFileSync(SSHD, ["-t", "-f", configPath], { stdio: "pipe" });
  const child = spawn(SSHD, ["-D", "-e", "-f", configPath], { stdio: ["ignore", "ignore", "pipe"] });
  // A test process that dies without stop() must not leave sshd listening.
  const reap = () => child.kill("SIGKILL");
  process.once("exit", reap);
  child.once("exit", () => process.removeListener("exit", reap));
  let stderr = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<never>((_, reject) => {
    child.once("exit", (code, signal) =>
      reject(new Error(`sshd exited early (code ${code}, signal ${signal}):\n${stderr}`)),
    );
    child.once("error", reject);
  });
  exited.catch(() => undefined);
  try {
    await Promise.race([waitForBanner(port, 10_000), exited]);
  } catch (error) {
    await kill(child);
    throw error;
  }
  return { child, log: () => stderr };
}

/** Resolves once something on the port speaks SSH (sends its `SSH-2.0-` banner). */
async function waitForBanner(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await readsBanner(port)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sshd did not answer on ${HOST}:${port} within ${timeoutMs} ms`);
}

function readsBanner(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: HOST, port });
    let data = "";
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.on("data", (chunk) => {
      data += chunk.toString("latin1");
      if (data.includes("\n")) done(data.startsWith("SSH-2.0-"));
    });
    socket.on("error", () => done(false));
    socket.on("close", () => done(false));
  });
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
  await exited;
  clearTimeout(timer);
}
