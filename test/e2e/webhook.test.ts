import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createNodeMiddleware, Probot, type ApplicationFunction } from "probot";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateAppKey } from "../support/app-key.js";
import { startFakeGitHub, type FakeGitHub } from "../support/fake-github.js";
import { pullRequestPayload } from "../support/payloads.js";
import { UnthrottledOctokit } from "../support/unthrottled-octokit.js";
import { sendWebhook } from "../support/webhook.js";

const SECRET = "It's a Secret to Everybody";
const APP_ID = 99;
const INSTALLATION_ID = 1234;
const HEAD = "1111111111111111111111111111111111111111";

/** Proves the test aids fit Probot: a signed payload reaches a handler whose API calls reach the fake. */
describe("sendWebhook + pullRequestPayload against Probot's middleware", () => {
  const privateKey = generateAppKey();
  let gh: FakeGitHub;
  let server: Server;
  let url: string;
  const seen: { name: string; action: string | undefined; id: string; sshUrl: string; config: unknown }[] = [];

  const appFn: ApplicationFunction = (app) => {
    app.on("pull_request", async (context) => {
      const config = await context.config("pyci.yml");
      seen.push({
        name: context.name,
        action: context.payload.action,
        id: context.id,
        sshUrl: context.payload.repository.ssh_url,
        config,
      });
      await context.octokit.rest.repos.createCommitStatus(
        context.repo({ sha: context.payload.pull_request.head.sha, state: "pending", context: "pyci" }),
      );
    });
  };

  beforeAll(async () => {
    gh = await startFakeGitHub({ appId: APP_ID, privateKey });
    gh.setContent("acme", "widgets", ".github/pyci.yml", "python: '3.12'\n");
    const probot = new Probot({
      appId: APP_ID,
      privateKey,
      secret: SECRET,
      baseUrl: gh.baseUrl,
      logLevel: "fatal",
      Octokit: UnthrottledOctokit,
    });
    const middleware = await createNodeMiddleware(appFn, { probot });
    server = createServer((req, res) => {
      void middleware(req, res, () => res.writeHead(404).end());
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/github/webhooks`;
  });

  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await gh?.stop();
  });

  const payload = pullRequestPayload({
    action: "opened",
    owner: "acme",
    repo: "widgets",
    number: 3,
    headSha: HEAD,
    sshUrl: "ssh://git@127.0.0.1:2222/srv/acme/widgets.git",
    cloneUrl: "http://127.0.0.1:9/acme/widgets.git",
    installationId: INSTALLATION_ID,
  });

  it("delivers a signed pull_request that Probot verifies and hands to the app", async () => {
    const res = await sendWebhook({ url, secret: SECRET, event: "pull_request", payload, deliveryId: "delivery-1" });
    expect(res.status).toBe(200);
    expect(seen).toEqual([
      {
        name: "pull_request",
        action: "opened",
        id: "delivery-1",
        sshUrl: "ssh://git@127.0.0.1:2222/srv/acme/widgets.git",
        config: { python: "3.12" },
      },
    ]);
    expect(gh.statuses.map((s) => [s.sha, s.body.state])).toEqual([[HEAD, "pending"]]);
    expect(gh.issuedTokens.map((t) => t.installationId)).toEqual([INSTALLATION_ID]);
    expect(gh.violations).toEqual([]);
    expect(gh.unexpected).toEqual([]);
  });

  it.each([
    ["a wrong signature", { signature: `sha256=${"0".repeat(64)}` }, 400],
    ["no signature", { signature: null }, 400],
    ["no event header", { event: null }, 400],
    ["no delivery id", { deliveryId: null }, 400],
    ["a signed body that is not JSON", { rawBody: "{not json" }, 400],
    ["a wrong content type", { contentType: "application/x-www-form-urlencoded" }, 415],
  ] as const)("is refused with %s", async (_, override, status) => {
    const before = seen.length;
    const res = await sendWebhook({ url, secret: SECRET, event: "pull_request", payload, ...override });
    expect(res.status).toBe(status);
    expect(seen).toHaveLength(before);
  });
});
