import { pino } from "pino";
import { describe, expect, it } from "vitest";
import type { BuildExecutor, BuildSinks, ExecutedBuild } from "../../src/builds/build-executor.js";
import { runsOnIgnored, runsOnIgnoredNote } from "../../src/builds/runs-on-ignored.js";
import { defaultRepoConfig } from "../../src/pipeline/repo-config.js";
import type { RepoConfig } from "../../src/pipeline/types.js";

/** An executor that, like runPipeline, opens the checkout's log, waits for the config, then opens the test's. */
const pipelineLike: BuildExecutor = {
  async execute(build, sinks) {
    sinks.openLog("checkout", (t) => t).close();
    await build.repoConfig;
    sinks.openLog("test", (t) => t).close();
    return { results: [], tidy: async () => undefined };
  },
};

async function logsOf(config: RepoConfig): Promise<Record<string, string>> {
  const logs: Record<string, string> = {};
  const sinks: BuildSinks = {
    openLog: (step) => {
      logs[step] = "";
      return { write: (text) => (logs[step] += text), close: () => undefined };
    },
    onStepEnd: () => undefined,
    restart: () => undefined,
    keepArtifact: async (artifact) => artifact,
  };
  let answer: (config: RepoConfig) => void = () => undefined;
  const repoConfig = new Promise<RepoConfig>((resolve) => (answer = resolve));
  const build = { buildId: "b", repoConfig, log: pino({ level: "silent" }) } as unknown as ExecutedBuild;
  const done = runsOnIgnored(pipelineLike).execute(build, sinks);
  answer(config);
  await done;
  return logs;
}

describe("runsOnIgnored (a server without workers)", () => {
  it("notes in the first log after the config that runs_on is ignored", async () => {
    const logs = await logsOf({ ...defaultRepoConfig(), runsOn: ["big", "py312"] });
    expect(logs).toEqual({ checkout: "", test: runsOnIgnoredNote(["big", "py312"]) });
    expect(logs.test).toContain(
      "runs_on (big, py312) is ignored: this server has no workers (CI_REDIS_URL is not set)",
    );
  });

  it("says nothing when the config asks for no labels", async () => {
    expect(await logsOf(defaultRepoConfig())).toEqual({ checkout: "", test: "" });
  });
});
