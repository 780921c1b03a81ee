import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * What the end-to-end tests of hostile repository code share: the sandbox
 * modes this machine can run, finding (and ending) the processes such code
 * left behind, and looking for secrets it may have printed in an encoding
 * the log masking does not know (base32).
 */

export const ROOT_USER = process.getuid?.() === 0;

export const BWRAP = (() => {
  try {
    execFileSync("bwrap", ["--ro-bind", "/", "/", "true"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

/** An interpreter every user can run, with Debian's python3-sphinx (pyenv's, under /root, is neither). */
export const SYSTEM_PYTHON = ["/usr/bin/python3", "/usr/local/bin/python3"].find((p) => existsSync(p));

export interface SandboxMode {
  mode: "bwrap" | "user";
  python: string;
  /** Whether this machine can run it (bwrap works; root and a system python for user). */
  runs: boolean;
}

/** Both sandbox modes a root server offers, with the system python (CI_PYTHON) for each. */
export const SANDBOX_MODES: SandboxMode[] = [
  { mode: "bwrap", python: SYSTEM_PYTHON ?? "python3", runs: BWRAP && ROOT_USER && !!SYSTEM_PYTHON },
  { mode: "user", python: SYSTEM_PYTHON ?? "python3", runs: ROOT_USER && !!SYSTEM_PYTHON },
];

/** Live processes (not zombies) whose command line contains `token`, other than this one. */
export function processesCarrying(token: string): number[] {
  const needle = Buffer.from(token);
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (!readFileSync(join("/proc", entry, "cmdline")).includes(needle)) continue;
      const stat = readFileSync(join("/proc", entry, "stat"), "utf8");
      if (stat.slice(stat.lastIndexOf(")") + 2)[0] === "Z") continue;
      pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** SIGKILLs each of `pids` that still exists (the test runs as root: whoever owns them). */
export function killPids(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

/** Whether the process runs (a zombie nobody reaped does not). */
export function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** RFC 4648 base32, as Python's base64.b32encode and coreutils' base32 write it. */
export function base32Encode(data: Buffer): string {
  let out = "";
  let bits = 0;
  let value = 0;
  for (const byte of data) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  while (out.length % 8 !== 0) out += "=";
  return out;
}

export function base32Decode(text: string): Buffer {
  const bytes: number[] = [];
  let bits = 0;
  let value = 0;
  for (const char of text.replace(/=+$/, "")) {
    const index = BASE32.indexOf(char);
    if (index < 0) break;
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      bytes.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
    value &= (1 << bits) - 1;
  }
  return Buffer.from(bytes);
}

/**
 * `text` and, appended, the decoding of every base32 run in it (16
 * characters or more, at each of its 8 alignments): what a reader of the
 * text could recover from what the code under test printed.
 */
export function withBase32Decoded(text: string): string {
  const decoded: string[] = [text];
  for (const match of text.matchAll(/[A-Z2-7]{16,}=*/g)) {
    for (let skip = 0; skip < 8; skip++) decoded.push(base32Decode(match[0].slice(skip)).toString("latin1"));
  }
  return decoded.join("\n");
}

/** The secrets (raw, or base32-encoded anywhere in `text`) that `text` gives away. */
export function secretsIn(text: string, secrets: string[]): string[] {
  const readable = withBase32Decoded(text);
  return secrets.filter((secret) => readable.includes(secret));
}

/** A PEM key's body lines (what a log masking works on): the parts worth finding. */
export function keyLines(pem: string): string[] {
  return pem.split("\n").filter((line) => line.length >= 16 && !line.startsWith("-----"));
}
