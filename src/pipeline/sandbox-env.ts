import { mkdirSync } from "node:fs";
import { join } from "node:path";

/**
 * The environment of the code under test: an allow-list, never the server's
 * own environment (which holds the app's private key, the webhook secret and
 * installation tokens). HOME and TMPDIR are throwaway directories.
 */
export function sandboxEnv(scratchDir: string, extra: Record<string, string> = {}): Record<string, string> {
  const home = join(scratchDir, "home");
  const tmp = join(scratchDir, "tmp");
  mkdirSync(home, { recursive: true });
  mkdirSync(tmp, { recursive: true });
  return {
    PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
    HOME: home,
    TMPDIR: tmp,
    LANG: "C.UTF-8",
    LC_ALL: "C.UTF-8",
    PYTHONUNBUFFERED: "1",
    PYTHONIOENCODING: "utf-8",
    PYTHONDONTWRITEBYTECODE: "1",
    PIP_DISABLE_PIP_VERSION_CHECK: "1",
    ...extra,
  };
}
