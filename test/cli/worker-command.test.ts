import { describe, expect, it } from "vitest";
import { main } from "../../src/cli.js";
import { workerCommand } from "../../src/cli/worker-command.js";
import { knownSecrets } from "../../src/secrets/known-secrets.js";

function capture() {
  const parts: string[] = [];
  return { write: (t: string) => void parts.push(t), text: () => parts.join(""), isTTY: false };
}

async function worker(args: string[], env: NodeJS.ProcessEnv) {
  const out = capture();
  const err = capture();
  const code = await workerCommand(args, out, err, { PATH: process.env.PATH, ...env });
  return { code, out: out.text(), err: err.text() };
}

const PASSWORD = "s3cret-redis-password";

describe("pyci worker", () => {
  it("is listed in pyci --help and has its own", async () => {
    const out = capture();
    expect(await main(["--help"], out, capture())).toBe(0);
    expect(out.text()).toContain("worker ");
    const help = await worker(["--help"], {});
    expect(help.code).toBe(0);
    expect(help.out).toContain("CI_REDIS_URL");
    expect(help.out).toContain("CI_WORKER_LABELS");
  });

  it("refuses a bad label, naming it and how labels are written", async () => {
    const run = await worker([], {
      CI_REDIS_URL: `redis://:${PASSWORD}@127.0.0.1:6379`,
      CI_SSH_KEY_PATH: "/etc/hostname",
      CI_WORKER_LABELS: "py312,GPU",
    });
    expect(run.code).toBe(1);
    expect(run.err).toContain('CI_WORKER_LABELS: "GPU" is not a label: use lowercase letters, digits and . _ -');
    expect(run.err).not.toContain(PASSWORD);
  });

  it("refuses to start without Redis, naming the variable", async () => {
    const run = await worker([], { CI_SSH_KEY_PATH: "/etc/hostname" });
    expect(run.code).toBe(1);
    expect(run.err).toContain("CI_REDIS_URL is missing");
  });

  it("refuses a Redis without a password, without printing the URL", async () => {
    const run = await worker([], { CI_REDIS_URL: "redis://redis.internal:6379/3", CI_SSH_KEY_PATH: "/etc/hostname" });
    expect(run.code).toBe(1);
    expect(run.err).toContain("CI_REDIS_URL has no password");
    expect(run.err).not.toContain("redis.internal");
  });

  it("needs none of the server's App settings, and never prints the Redis password", async () => {
    const run = await worker([], {
      CI_REDIS_URL: `redis://:${PASSWORD}@127.0.0.1:6379`,
      NODE_ENV: "production",
      CI_CONCURRENCY: "none",
    });
    expect(run.code).toBe(1);
    expect(run.err).toContain("CI_CONCURRENCY=none");
    // the server's own requirements are not a worker's
    expect(run.err).not.toContain("WEBHOOK_SECRET");
    expect(run.err).not.toContain("CI_PUBLIC_URL");
    expect(run.err).not.toContain(PASSWORD);
  });

  it("masks CI_REDIS_URL and its password in every log (knownSecrets)", () => {
    const url = `redis://pyci:${encodeURIComponent("p@ss word!")}@10.0.0.5:6379`;
    const secrets = knownSecrets({ CI_REDIS_URL: url });
    expect(secrets).toContain(url);
    expect(secrets).toContain("p@ss word!");
  });
});
