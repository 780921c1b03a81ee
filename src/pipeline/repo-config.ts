import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parse } from "yaml";
import { envNameProblem } from "../process/sandbox/sandbox-env.js";
import { labelSet } from "../model/worker-labels.js";
import { repoConfigProblems } from "./repo-config-problems.js";
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
 * Validates `.github/pyci.yml` (already parsed from YAML) and turns it into a
 * RepoConfig. schema/pyci.schema.json says what each key may hold (every
 * problem at once, each naming its key); what a schema cannot know is
 * checked here: which variable names the sandbox owns.
 */
export function parseRepoConfig(raw: unknown): RepoConfig {
  const config = defaultRepoConfig();
  if (raw === null || raw === undefined) return config;
  const problems = repoConfigProblems(raw);
  if (problems.length > 0) throw new RepoConfigError(problems.join("; "));
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    const setting = SETTINGS[key]!;
    if (typeof setting === "function") setting(config, value as never);
    else for (const [inner, v] of Object.entries(value as object)) setting[inner]!(config, v as never);
  }
  return config;
}

/** What one key of the file does to the RepoConfig, given a value the schema accepted. */
type Setting = (config: RepoConfig, value: never) => void;

/**
 * Every key of the file, and what it sets: the keys must be the schema's
 * (test/pipeline/repo-config-problems.test.ts compares them), the schema says what
 * each value may be.
 */
const SETTINGS: Record<string, Setting | Record<string, Setting>> = {
  check: {
    enforce_type_errors: (config: RepoConfig, value: boolean) => {
      config.check.enforceTypeErrors = value;
    },
  },
  test: {
    start_dir: (config: RepoConfig, value: string) => {
      config.test.startDir = value;
    },
    pattern: (config: RepoConfig, value: string) => {
      config.test.pattern = value;
    },
    top_level_dir: (config: RepoConfig, value: string) => {
      config.test.topLevelDir = value;
    },
    parallel: (config: RepoConfig, value: number | "auto") => {
      config.test.parallel = value;
    },
  },
  install: (config: RepoConfig, value: string | string[]) => {
    config.install = [value].flat();
  },
  runs_on: (config: RepoConfig, value: string | string[]) => {
    config.runsOn = labelSet([value].flat());
  },
  python: (config: RepoConfig, value: string) => {
    config.python = value;
  },
  env: (config: RepoConfig, value: Record<string, string | number | boolean>) => {
    config.env = environment(value);
  },
  docs: {
    dir: (config: RepoConfig, value: string) => {
      config.docs.dir = value;
    },
    install: (config: RepoConfig, value: string | string[]) => {
      config.docs.install = [value].flat();
    },
    warnings_as_errors: (config: RepoConfig, value: boolean) => {
      config.docs.warningsAsErrors = value;
    },
    branches: (config: RepoConfig, value: string | string[]) => {
      config.docs.branches = [value].flat();
    },
  },
};

/** Every key parseRepoConfig reads, as `section.key` for the keys of a section. */
export function repoConfigKeys(): string[] {
  return Object.entries(SETTINGS).flatMap(([key, setting]) =>
    typeof setting === "function" ? [key] : Object.keys(setting).map((inner) => `${key}.${inner}`),
  );
}

/** `env:` — the schema has checked names and values; here: names the sandbox owns are refused. */
function environment(value: Record<string, string | number | boolean>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, raw] of Object.entries(value)) {
    const problem = envNameProblem(name);
    if (problem) throw new RepoConfigError(`env: ${problem}`);
    env[name] = String(raw);
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
