import { pino } from "pino";
import { describe, expect, it } from "vitest";
import type { BuildDeps } from "../../src/builds/build-deps.js";
import type { BuildExecutor } from "../../src/builds/build-executor.js";
import { BuildQueue } from "../../src/builds/build-queue.js";
import { shutdownBuilds } from "../../src/builds/shutdown-builds.js";

/** A queue running one build that ends only when it is stopped; what stopped it. */
function runningUntilStopped() {
  const queue = new BuildQueue(1);
  const reasons: unknown[] = [];
  queue.add({
    key: "build",
    run: (signal) =>
      new Promise<void>((resolve) =>
        signal.addEventListener(
          "abort",
          () => {
            reasons.push(signal.reason);
            resolve();
          },
          { once: true },
        ),
      ),
  });
  return { queue, reasons };
}

const deps = (queue: BuildQueue, executor: Partial<BuildExecutor>) =>
  ({ queue, log: pino({ level: "silent" }), executor }) as unknown as BuildDeps;

describe("shutdownBuilds", () => {
  it("stops following builds that go on without this process at once, whatever the grace (a detached executor)", async () => {
    const { queue, reasons } = runningUntilStopped();
    // a grace of an hour: only not waiting for it lets this test end within vitest's 5 s
    expect(await shutdownBuilds(deps(queue, { detached: true }), 3_600_000)).toBe("stopped");
    expect(reasons).toEqual([{ kind: "shutdown" }]);
  });

  it("gives builds that run here their grace: one that ends within it is not stopped", async () => {
    const queue = new BuildQueue(1);
    queue.add({ key: "build", run: () => new Promise<void>((resolve) => setTimeout(resolve, 50)) });
    expect(await shutdownBuilds(deps(queue, {}), 3_600_000)).toBe("drained");
  });
});
