import { Writable } from "node:stream";
import { pino } from "pino";
import { Probot, ProbotOctokit } from "probot";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { BuildDeps } from "../../src/builds/build-deps.js";
import { registerHandlers, type ReceivedDelivery } from "../../src/handlers/register-handlers.js";
import type { BuildEvents } from "../../src/metrics/build-events.js";
import { generateAppKey } from "../support/app-key.js";
import { pullRequestPayload } from "../support/payloads.js";

/** Octokits Probot has built so far: the app's own, then one per Context it makes for a hook. */
let built = 0;
const CountingOctokit = ProbotOctokit.defaults((options: Record<string, unknown> = {}) => {
  built++;
  return options;
});

describe("registerHandlers", () => {
  const deliveries: [string, string][] = [];
  const ignored: string[] = [];
  const logLines: Record<string, unknown>[] = [];
  let probot: Probot;
  let receiveDirectly: (delivery: ReceivedDelivery) => Promise<void>;
  let failCounting = false;

  beforeAll(async () => {
    probot = new Probot({
      appId: 1,
      privateKey: generateAppKey(),
      Octokit: CountingOctokit,
      log: pino(
        { level: "warn" },
        new Writable({ write: (chunk, _enc, done) => (logLines.push(JSON.parse(String(chunk))), done()) }),
      ),
      baseUrl: "http://127.0.0.1:9/api/v3",
    });
    const events: BuildEvents = {
      delivery: (event, outcome, detail) => {
        if (failCounting) throw new Error("counting failed");
        deliveries.push([event, outcome]);
        if (detail?.reason !== undefined) ignored.push(detail.reason);
      },
      stepFinished: () => expect.unreachable("no step runs"),
    };
    // the deliveries below end in their handlers' guards, before anything else of deps is used
    const deps = { auth: "installation", events } as unknown as BuildDeps;
    await probot.load((app) => {
      receiveDirectly = registerHandlers(app, deps);
    });
  });

  beforeEach(() => {
    deliveries.length = 0;
    ignored.length = 0;
    logLines.length = 0;
    failCounting = false;
  });

  /** Receives the delivery; returns how many Octokits Probot built for it. */
  const receive = async (name: "pull_request" | "check_suite" | "ping", payload: object) => {
    const before = built;
    await probot.receive({ id: `d-${name}`, name, payload } as Parameters<Probot["receive"]>[0]);
    return built - before;
  };

  it("hands a delivery to the handler of its event.action, with one Context (one Octokit) per delivery", async () => {
    const payload = pullRequestPayload({
      action: "synchronize",
      owner: "acme",
      repo: "calc",
      number: 1,
      headSha: "not a sha",
      sshUrl: "git@x:a/b.git",
      cloneUrl: "https://x/a/b.git",
      installationId: 7,
    });
    expect(await receive("pull_request", payload)).toBe(1);
    expect(ignored).toEqual(["head commit SHA is missing or malformed"]);
    expect(deliveries).toEqual([["pull_request", "ignored"]]);

    expect(await receive("check_suite", { action: "rerequested", installation: { id: 7 } })).toBe(1);
    expect(ignored).toEqual(["head commit SHA is missing or malformed", "payload has no check_suite"]);
  });

  it("counts a delivery no handler takes as ignored, once", async () => {
    const labeled = pullRequestPayload({
      action: "labeled",
      owner: "acme",
      repo: "calc",
      number: 1,
      headSha: "a".repeat(40),
      sshUrl: "git@x:a/b.git",
      cloneUrl: "https://x/a/b.git",
      installationId: 7,
    });
    expect(await receive("pull_request", labeled)).toBe(1);
    expect(await receive("ping", { zen: "Keep it logically awesome.", hook_id: 1 })).toBe(1);
    expect(deliveries).toEqual([
      ["pull_request", "ignored"],
      ["ping", "ignored"],
    ]);
    expect(ignored).toEqual([]);
  });

  it("returns the same handlers for a server that receives deliveries itself, without an Octokit per delivery", async () => {
    const payload = pullRequestPayload({
      action: "synchronize",
      owner: "acme",
      repo: "calc",
      number: 1,
      headSha: "not a sha",
      sshUrl: "git@x:a/b.git",
      cloneUrl: "https://x/a/b.git",
      installationId: 7,
    });
    const before = built;
    await receiveDirectly({ id: "d-direct", name: "pull_request", payload: payload as never });
    await receiveDirectly({ id: "d-ping", name: "ping", payload: { zen: "Design for failure.", hook_id: 1 } });
    expect(built - before).toBe(0);
    expect(ignored).toEqual(["head commit SHA is missing or malformed"]);
    expect(deliveries).toEqual([
      ["pull_request", "ignored"],
      ["ping", "ignored"],
    ]);
  });

  it("logs a handler's error with the delivery id and rejects, as Probot's receive does", async () => {
    failCounting = true;
    await expect(
      receiveDirectly({ id: "d-failing", name: "ping", payload: { zen: "Keep it simple.", hook_id: 1 } }),
    ).rejects.toThrow("counting failed");
    expect(logLines).toEqual([
      expect.objectContaining({
        level: 50,
        name: "event",
        id: "d-failing",
        msg: "a handler failed on this delivery",
        err: expect.objectContaining({ message: "counting failed" }),
      }),
    ]);
  });
});
