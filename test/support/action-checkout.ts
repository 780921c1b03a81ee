import { cpSync, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** node:sqlite (DatabaseSync, no flag), which the action's bundle stores its builds with. */
export const NODE_HAS_SQLITE = (() => {
  const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
  return major > 22 || (major === 22 && minor >= 13);
})();
export const NO_SQLITE_REASON = `action/index.js needs node:sqlite (Node 22.13 or later); this is Node ${process.versions.node}`;

/**
 * What `uses: <owner>/pyci@<ref>` gives a job, as far as the action reads it: the committed
 * bundle with the pyright its action.yml installs (`action/node_modules/pyright`, copied from
 * pyci's own install here: same version, scripts/build-action.js checks), and the data files
 * the bundle finds beside it (python/, schema/, known_hosts). It is made under the system's
 * temp directory, where no node_modules of pyci's can be reached: the bundle must run on its own.
 * Returns the directory; `rm -r` it when done.
 */
export function actionCheckout(): string {
  const dir = mkdtempSync(join(tmpdir(), "pyci-action-checkout-"));
  for (const path of ["action.yml", "known_hosts", "python", "schema"]) {
    cpSync(join(ROOT, path), join(dir, path), { recursive: true });
  }
  mkdirSync(join(dir, "action", "node_modules"), { recursive: true });
  for (const file of ["index.js", "package.json", "package-lock.json"]) {
    cpSync(join(ROOT, "action", file), join(dir, "action", file));
  }
  cpSync(join(ROOT, "node_modules", "pyright"), join(dir, "action", "node_modules", "pyright"), {
    recursive: true,
    dereference: true,
  });
  return dir;
}
