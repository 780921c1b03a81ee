import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { acceptBuild } from "../../src/builds/accept-build.js";
import type { BuildDeps } from "../../src/builds/build-deps.js";
import { BuildQueue } from "../../src/builds/build-queue.js";
import type { BuildRequest } from "../../src/model/build-request.js";
import type { Octokit } from "../../src/github/types.js";
import { BuildStore } from "../../src/store/build-store.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("acceptBuild", () => {
  it("records the build and returns; its GitHub writes start only after the microtasks that answer the webhook", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "pyci-accept-"));
    dirs.push(dataDir);
    const store = new BuildStore(dataDir);
    const asked: (number | undefined)[] = [];
    const deps = {
      config: { concurrency: 1 },
      store,
      queue: new BuildQueue(1),
      log: pino({ level: "silent" }),
      buildUrl: (id: string) => `https://ci.example.com/builds/${id}`,
      // GitHub never answers: the build waits for its pending statuses and never starts
      octokitFor: (installationId: number | undefined) => (
        asked.push(installationId), new Promise<Octokit>(() => undefined)
      ),
    } as unknown as BuildDeps;
    const request: BuildRequest = {
      pipeline: "pr",
      owner: "acme",
      repo: "calc",
      sha: "a".repeat(40),
      event: "pull_request.opened",
      deliveryId: "d-1",
      installationId: 7,
      sshUrl: "git@github.com:acme/calc.git",
      cloneUrl: "https://github.com/acme/calc.git",
      prNumber: 1,
    };

    const { outcome, record } = acceptBuild(deps, request);
    expect(outcome).toBe("created");
    expect(store.get(record.id)?.state).toBe("queued");
    // the answer: Probot's receive, the route's race and write are a few microtasks after the handler's return
    for (let i = 0; i < 100; i++) await null;
    expect(asked).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(asked).toEqual([7]);
    store.close();
  });
});
