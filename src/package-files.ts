import { fileURLToPath } from "node:url";

/**
 * The one place that knows where pyci's own files are: this module is at the
 * top of src/ (run by vitest) and of dist/ (run by node), both one level below
 * the package root, so moving any other module never breaks a path.
 */
const ROOT = new URL("../", import.meta.url);

/** An absolute path inside the package: packageFile("python", "pyci_unittest.py"). */
export function packageFile(...parts: string[]): string {
  return fileURLToPath(new URL(parts.join("/"), ROOT));
}

/** The JSON Schema of a repository's `.github/pyci.yml`, shipped for ajv and for editors. */
export const PYCI_YML_SCHEMA = packageFile("schema", "pyci.schema.json");
