import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadActionsEnv, probotApiEnv } from "../../src/actions/load-actions-env.js";
import { ConfigError } from "../../src/config.js";

const dir = mkdtempSync(join(tmpdir(), "pyci-actions-env-"));
const eventPath = join(dir, "event.json");
writeFileSync(eventPath, "{}");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const JOB = {
  GITHUB_TOKEN: "ghs_jobToken0123456789",
  GITHUB_EVENT_NAME: "pull_request",
  GITHUB_EVENT_PATH: eventPath,
  GITHUB_RUN_ID: "4242",
  GITHUB_REPOSITORY: "octo-org/calc",
  GITHUB_SERVER_URL: "https://github.com",
  GITHUB_API_URL: "https://api.github.com",
  GITHUB_WORKSPACE: dir,
};

function problems(env: NodeJS.ProcessEnv): string[] {
  try {
    loadActionsEnv(env, join(dir, "temp"));
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe("probotApiEnv", () => {
  it("maps GITHUB_API_URL to Probot's GHE_HOST/GHE_PROTOCOL", () => {
    expect(probotApiEnv({ GITHUB_API_URL: "https://api.github.com" })).toEqual({});
    expect(probotApiEnv({ GITHUB_API_URL: "https://api.github.com/" })).toEqual({});
    expect(probotApiEnv({})).toEqual({});
    expect(probotApiEnv({ GITHUB_API_URL: "https://ghe.example.com/api/v3" })).toEqual({
      GHE_HOST: "ghe.example.com",
      GHE_PROTOCOL: "https",
    });
    expect(probotApiEnv({ GITHUB_API_URL: "http://127.0.0.1:8080/api/v3/" })).toEqual({
      GHE_HOST: "127.0.0.1:8080",
      GHE_PROTOCOL: "http",
    });
  });

  it("leaves GHE_HOST alone when it is set, and refuses an API it cannot express", () => {
    expect(probotApiEnv({ GHE_HOST: "ghe.internal", GITHUB_API_URL: "https://api.github.com" })).toEqual({});
    expect(probotApiEnv({ GITHUB_API_URL: "https://api.octocorp.ghe.com" })).toMatch(
      /^GITHUB_API_URL=https:\/\/api\.octocorp\.ghe\.com is neither/,
    );
    expect(probotApiEnv({ GITHUB_API_URL: "ftp://ghe.example.com/api/v3" })).toMatch(/is neither/);
    expect(probotApiEnv({ GITHUB_API_URL: "not a url" })).toBe("GITHUB_API_URL=not a url is not a URL.");
  });
});

describe("loadActionsEnv", () => {
  it("reads the job: the run's URL, the workspace, the token, pyci's settings; scratch space under the temp root", () => {
    const env = loadActionsEnv(
      { ...JOB, CI_PYTHON: "python3.12", CI_STEP_TIMEOUT: "60", CI_DOCS_RELEASES_KEEP: "3" },
      join(dir, "temp"),
    );
    expect(env.runUrl).toBe("https://github.com/octo-org/calc/actions/runs/4242");
    expect(env.workspace).toBe(dir);
    expect(env.token).toBe(JOB.GITHUB_TOKEN);
    expect(env.probotEnv).toEqual({});
    expect(env.config).toMatchObject({
      python: "python3.12",
      stepTimeoutMs: 60_000,
      docsReleasesKeep: 3,
      concurrency: 1,
      forkPolicy: "run",
    });
    expect(env.config.dataDir).toBe(join(dir, "temp", "data"));
    expect(env.config.workDir).toBe(join(dir, "temp", "work"));
  });

  it("takes the token from the adapter's other inputs too, and ignores the server's settings", () => {
    const { GITHUB_TOKEN: _, ...rest } = JOB;
    const env = loadActionsEnv(
      {
        ...rest,
        INPUT_TOKEN: "ghs_inputToken012345",
        NODE_ENV: "production",
        CI_PUBLIC_URL: "not a url",
        CI_CONCURRENCY: "0",
      },
      join(dir, "temp"),
    );
    expect(env.token).toBe("ghs_inputToken012345");
  });

  it("names every missing or wrong variable at once", () => {
    expect(problems({})).toEqual([
      expect.stringMatching(/^GITHUB_TOKEN is not set\. .*github\.token/),
      expect.stringMatching(/^GITHUB_EVENT_NAME is not set\./),
      expect.stringMatching(/^GITHUB_EVENT_PATH is not set\./),
      expect.stringMatching(/^GITHUB_RUN_ID is not set\./),
      expect.stringMatching(/^GITHUB_SERVER_URL is not set\./),
      expect.stringMatching(/^GITHUB_REPOSITORY is not set\./),
      expect.stringMatching(/^GITHUB_WORKSPACE is not set\./),
    ]);
    expect(
      problems({
        ...JOB,
        GITHUB_EVENT_PATH: join(dir, "missing.json"),
        GITHUB_REPOSITORY: "../etc",
        GITHUB_WORKSPACE: join(dir, "nowhere"),
        GITHUB_API_URL: "https://api.octocorp.ghe.com",
        CI_STEP_TIMEOUT: "soon",
      }),
    ).toEqual([
      `GITHUB_EVENT_PATH=${join(dir, "missing.json")} cannot be read.`,
      "GITHUB_REPOSITORY=../etc is not owner/name.",
      `GITHUB_WORKSPACE=${join(dir, "nowhere")} is not a directory. Check out the repository first (actions/checkout).`,
      expect.stringMatching(/^GITHUB_API_URL=/),
      "CI_STEP_TIMEOUT=soon must be a whole number of at least 1.",
    ]);
  });
});
