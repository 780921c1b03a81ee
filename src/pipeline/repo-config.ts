import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parse } from "yaml";
import { envNameProblem } from "../process/sandbox/sandbox-env.js";
import { nearestWord } from "../text/nearest-word.js";
import type { RepoConfig } from "./types.js";

/** The file maintainers put on their default branch; `pyci run` reads it from the working tree. */
export const REPO_CONFIG_PATH = ".github/pyci.yml";

export class RepoConfigError extends Error {
  override name = "RepoConfigError";
}

export function defaultRepoConfig(): RepoConfig {
  return {
    check: { enforceTypeErrors: undefined },
    test: { startDir: ".", pattern: "test*.py" },
    install: [],
    docs: { install: [], warningsAsErrors: false },
  };
}

/**
 * Validates `.github/pyci.yml` (already parsed from YAML):
 *
 *   check:   { enforce_type_errors: true|false }   # default: enforce when pyright is configured
 *   test:    { start_dir: ".", pattern: "test*.py", top_level_dir: "." }
 *   install: ["pip install -e .", ...]             # run in a fresh virtualenv before the steps
 *   python:  python3.12                            # interpreter name on the server's PATH
 *   env:     { DJANGO_SETTINGS_MODULE: app.test }  # extra variables for the code under test
 *   docs:    { dir: docs, install: [...], warnings_as_errors: false, branches: [main] }
 */
export function parseRepoConfig(raw: unknown): RepoConfig {
  const config = defaultRepoConfig();
  if (raw === null || raw === undefined) return config;
  const root = object(raw, "the file");
  const unknown = unknownKeys(root);
  if (unknown.length > 0) throw new RepoConfigError(unknown.join("; "));
  const check = root.check === undefined ? {} : object(root.check, "check");
  if (check.enforce_type_errors !== undefined) {
    if (typeof check.enforce_type_errors !== "boolean")
      throw new RepoConfigError("check.enforce_type_errors must be true or false");
    config.check.enforceTypeErrors = check.enforce_type_errors;
  }
  const test = root.test === undefined ? {} : object(root.test, "test");
  if (test.start_dir !== undefined) config.test.startDir = relativeDir(test.start_dir, "test.start_dir");
  if (test.top_level_dir !== undefined) config.test.topLevelDir = relativeDir(test.top_level_dir, "test.top_level_dir");
  if (test.pattern !== undefined) {
    if (typeof test.pattern !== "string" || test.pattern === "" || test.pattern.includes("/")) {
      throw new RepoConfigError("test.pattern must be a file name pattern such as test*.py");
    }
    config.test.pattern = test.pattern;
  }
  if (root.install !== undefined) config.install = commands(root.install, "install");
  const docs = root.docs === undefined ? {} : object(root.docs, "docs");
  if (docs.dir !== undefined) config.docs.dir = relativeDir(docs.dir, "docs.dir");
  if (docs.install !== undefined) config.docs.install = commands(docs.install, "docs.install");
  if (docs.warnings_as_errors !== undefined) {
    if (typeof docs.warnings_as_errors !== "boolean")
      throw new RepoConfigError("docs.warnings_as_errors must be true or false");
    config.docs.warningsAsErrors = docs.warnings_as_errors;
  }
  if (docs.branches !== undefined) {
    const branches = typeof docs.branches === "string" ? [docs.branches] : docs.branches;
    if (!Array.isArray(branches) || !branches.every((b) => typeof b === "string" && b !== "")) {
      throw new RepoConfigError("docs.branches must be a branch name or a list of them");
    }
    config.docs.branches = branches as string[];
  }
  if (root.python !== undefined) {
    if (typeof root.python !== "string" || !/^python[0-9.]*$/.test(root.python)) {
      throw new RepoConfigError("python must name an interpreter on the server's PATH, such as python3.12");
    }
    config.python = root.python;
  }
  if (root.env !== undefined) config.env = environment(root.env);
  return config;
}

/** The keys of each mapping of the file (`env:` names variables: any name). */
const KEYS = {
  "": ["check", "test", "install", "python", "env", "docs"],
  check: ["enforce_type_errors"],
  test: ["start_dir", "pattern", "top_level_dir"],
  docs: ["dir", "install", "warnings_as_errors", "branches"],
} as const;

/**
 * Every key the file has that pyci does not know, each with the nearest
 * known one ("unknown key tests (did you mean test?)"): a typo would
 * otherwise be ignored and the build fail far from it.
 */
function unknownKeys(root: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const check = (mapping: unknown, where: keyof typeof KEYS) => {
    if (typeof mapping !== "object" || mapping === null || Array.isArray(mapping)) return;
    const known: readonly string[] = KEYS[where];
    for (const key of Object.keys(mapping)) {
      if (known.includes(key)) continue;
      const name = where === "" ? key : `${where}.${key}`;
      const near = nearestWord(key, known) ?? (where === "" ? nestedKey(key) : undefined);
      problems.push(
        near
          ? `unknown key ${name} (did you mean ${where === "" || near.includes(".") ? near : `${where}.${near}`}?)`
          : `unknown key ${name} (${where === "" ? "the keys are" : `${where} has`} ${known.join(", ")})`,
      );
    }
  };
  check(root, "");
  for (const where of ["check", "test", "docs"] as const) check(root[where], where);
  return problems;
}

/** A key of a section written at the top (`start_dir:` for `test.start_dir`), as `section.key`. */
function nestedKey(key: string): string | undefined {
  for (const where of ["check", "test", "docs"] as const) {
    const near = nearestWord(key, KEYS[where]);
    if (near) return `${where}.${near}`;
  }
  return undefined;
}

const MAX_ENV_VARIABLES = 100;
const MAX_ENV_VALUE_LENGTH = 4096;

/** `env:` — literal values (strings, numbers, booleans), for names the sandbox does not own. */
function environment(value: unknown): Record<string, string> {
  const entries = Object.entries(object(value, "env"));
  if (entries.length > MAX_ENV_VARIABLES)
    throw new RepoConfigError(`env may set at most ${MAX_ENV_VARIABLES} variables`);
  const env: Record<string, string> = {};
  for (const [name, raw] of entries) {
    const problem = envNameProblem(name);
    if (problem) throw new RepoConfigError(`env: ${problem}`);
    if (typeof raw !== "string" && typeof raw !== "number" && typeof raw !== "boolean") {
      throw new RepoConfigError(`env.${name} must be a literal value (a string, a number or true/false)`);
    }
    const text = String(raw);
    if (text.includes("\0") || text.length > MAX_ENV_VALUE_LENGTH)
      throw new RepoConfigError(`env.${name} must be at most ${MAX_ENV_VALUE_LENGTH} characters, without NUL`);
    env[name] = text;
  }
  return env;
}

/** Reads the config from a working tree (the CLI); a missing file means the defaults. */
export async function readRepoConfigFile(dir: string): Promise<RepoConfig> {
  let text: string;
  try {
    text = await readFile(join(dir, REPO_CONFIG_PATH), "utf8");
  } catch {
    return defaultRepoConfig();
  }
  try {
    return parseRepoConfig(parse(text));
  } catch (error) {
    if (error instanceof RepoConfigError) throw new RepoConfigError(`Invalid ${REPO_CONFIG_PATH}: ${error.message}`);
    throw new RepoConfigError(`${REPO_CONFIG_PATH} is not valid YAML: ${(error as Error).message}`);
  }
}

function object(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new RepoConfigError(`${where} must be a mapping`);
  }
  return value as Record<string, unknown>;
}

function commands(value: unknown, where: string): string[] {
  const list = typeof value === "string" ? [value] : value;
  if (!Array.isArray(list) || !list.every((c) => typeof c === "string" && c.trim() !== "")) {
    throw new RepoConfigError(`${where} must be a command or a list of commands`);
  }
  return list as string[];
}

function relativeDir(value: unknown, where: string): string {
  if (typeof value !== "string" || value === "" || value.startsWith("/") || value.split(/[\\/]/).includes("..")) {
    throw new RepoConfigError(`${where} must be a directory inside the repository, such as tests`);
  }
  return value;
}
