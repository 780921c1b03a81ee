import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { parseEnv } from "node:util";

/**
 * Adds `values` to the `.env` at `path` (values already there with the same
 * names are replaced, others kept; the file is rewritten as Probot's
 * registration does, comments not kept), readable by its owner only (also
 * where it was not before). Values
 * are double-quoted (a private key's lines stay lines); one holding a `"`
 * cannot be written so that it reads back the same, and is refused.
 */
export function saveEnvFile(path: string, values: Record<string, string>): void {
  for (const [name, value] of Object.entries(values))
    if (value.includes('"')) throw new Error(`${name} has a double quote in it: it cannot be written to ${path}`);
  const before = existsSync(path) ? parseEnv(readFileSync(path, "utf8")) : {};
  const merged = { ...before, ...values };
  const text = Object.entries(merged)
    .map(([name, value]) => `${name}="${value ?? ""}"`)
    .join("\n");
  // a new file, then renamed over the old: 0600 even where an earlier .env was readable by others
  const written = `${path}.pyci-${process.pid}`;
  writeFileSync(written, `${text}\n`, { mode: 0o600 });
  renameSync(written, path);
}
