import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sign } from "@octokit/webhooks-methods";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { latestStatus } from "../support/fake-github.js";
import { works } from "../support/test-base-image.js";
import { makeRepo, type TestRepo } from "../support/git-repo.js";
import { SANDBOX_MODES } from "../support/hostile-build.js";
import { pullRequestPayload } from "../support/payloads.js";
import { startSandboxedServer, type SandboxedServer } from "../support/sandboxed-server.js";
import { eventually, freePort } from "../support/server-process.js";

/**
 * The real server (`node dist/server.js`) behind a real nginx running deploy/nginx/pyci.conf as
 * docs/deploy.md ships it (only its ports, upstream port and certificate paths replaced), with TLS
 * from a certificate made here: a signed delivery through the proxy is accepted, and the build
 * page's live events (Server-Sent Events) arrive through it while the build runs. Needs nginx
 * (`apt-get install nginx`) and `npm run build` first.
 */

const NGINX = works("nginx", ["-v"]);
if (!NGINX) console.warn("reverse-proxy.e2e: nginx is not installed (apt-get install nginx): these tests are skipped");
const CONFIG = new URL("../../deploy/nginx/pyci.conf", import.meta.url);
const HOST_NAME = "ci.example.com";

/** Where each part of the shipped config points, and what the test puts there: each must be there exactly once. */
function templated(config: string, ports: { http: number; https: number; pyci: number }, dir: string): string {
  const replacements: [string, string][] = [
    ["server 127.0.0.1:3000;", `server 127.0.0.1:${ports.pyci};`],
    ["listen 80;", `listen 127.0.0.1:${ports.http};`],
    ["listen 443 ssl;", `listen 127.0.0.1:${ports.https} ssl;`],
    [`/etc/letsencrypt/live/${HOST_NAME}/fullchain.pem`, join(dir, "cert.pem")],
    [`/etc/letsencrypt/live/${HOST_NAME}/privkey.pem`, join(dir, "key.pem")],
  ];
  return replacements.reduce((text, [from, to]) => {
    expect(text.split(from).length - 1, `deploy/nginx/pyci.conf holds "${from}" once`).toBe(1);
    return text.replace(from, to);
  }, config);
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

describe.skipIf(!NGINX)("pyci behind nginx with deploy/nginx/pyci.conf", () => {
  let pyci: SandboxedServer;
  let nginx: ChildProcess;
  let dir: string;
  let ports: { http: number; https: number; pyci: number };
  let ca: Buffer;
  const repos: TestRepo[] = [];

  /** One request to nginx's TLS port, the certificate checked against the test's own. */
  function send(method: string, path: string, headers: Record<string, string> = {}, body = ""): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = request(
        { host: "127.0.0.1", port: ports.https, servername: HOST_NAME, ca, method, path, headers },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () =>
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }),
          );
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  }

  beforeAll(async () => {
    pyci = await startSandboxedServer(SANDBOX_MODES[0]!, { appId: 4345, installationId: 95 });
    dir = mkdtempSync(join(tmpdir(), "pyci-nginx-"));
    execFileSync(
      "openssl",
      [
        ...["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", `/CN=${HOST_NAME}`],
        ...[
          "-addext",
          `subjectAltName=DNS:${HOST_NAME}`,
          "-keyout",
          join(dir, "key.pem"),
          "-out",
          join(dir, "cert.pem"),
        ],
      ],
      { stdio: "ignore" },
    );
    ca = readFileSync(join(dir, "cert.pem"));
    ports = { http: await freePort(), https: await freePort(), pyci: pyci.port };
    writeFileSync(join(dir, "pyci.conf"), templated(readFileSync(CONFIG, "utf8"), ports, dir));
    for (const temp of ["body", "proxy", "fastcgi", "uwsgi", "scgi"]) mkdirSync(join(dir, temp));
    writeFileSync(
      join(dir, "nginx.conf"),
      [
        // as root, nginx's workers would be nobody, who cannot read the test's directory
        process.getuid?.() === 0 ? "user root;" : "",
        "daemon off;",
        "worker_processes 1;",
        `pid ${join(dir, "nginx.pid")};`,
        `error_log ${join(dir, "error.log")} info;`,
        "events { worker_connections 256; }",
        "http {",
        `  access_log ${join(dir, "access.log")};`,
        ...["body", "proxy", "fastcgi", "uwsgi", "scgi"].map(
          (temp) => `  ${temp === "body" ? "client_body" : temp}_temp_path ${join(dir, temp)};`,
        ),
        `  include ${join(dir, "pyci.conf")};`,
        "}",
      ].join("\n"),
    );
    nginx = spawn("nginx", ["-p", dir, "-c", join(dir, "nginx.conf"), "-e", join(dir, "error.log")], {
      stdio: "inherit",
    });
    const deadline = Date.now() + 20_000;
    for (;;) {
      const answer = await send("GET", "/healthz").catch(() => undefined);
      if (answer?.status === 200) break;
      if (Date.now() > deadline || nginx.exitCode !== null)
        throw new Error(`nginx did not proxy /healthz: ${readFileSync(join(dir, "error.log"), "utf8")}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  });

  afterAll(async () => {
    nginx?.kill("SIGTERM");
    await pyci?.stop();
    repos.forEach((r) => r.remove());
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("redirects plain HTTP to HTTPS", async () => {
    const answer = await fetch(`http://127.0.0.1:${ports.http}/builds`, { redirect: "manual" });
    expect(answer.status).toBe(301);
    expect(answer.headers.get("location")).toBe(`https://127.0.0.1/builds`);
  });

  it("accepts a signed delivery through the proxy, and streams the build's live log while the build runs", async () => {
    // the repository's test holds the build until the test lets it go: what arrives before, arrived live
    let held: Socket | undefined;
    const gate: Server = createServer((socket) => void (held = socket));
    await new Promise<void>((resolve) => gate.listen(0, "127.0.0.1", resolve));
    const gatePort = (gate.address() as { port: number }).port;
    const repo = makeRepo({
      "calc.py": "def add(a: int, b: int) -> int:\n    return a + b\n",
      "test_gate.py": [
        "import socket",
        "import unittest",
        "",
        "",
        "class GateTest(unittest.TestCase):",
        "    def test_waits_for_the_gate(self):",
        `        with socket.create_connection(("127.0.0.1", ${gatePort})) as s:`,
        "            print('waiting for the gate', flush=True)",
        "            self.assertEqual(s.recv(2), b'go')",
        "",
      ].join("\n"),
    });
    repos.push(repo);
    const payload = JSON.stringify(
      pullRequestPayload({
        ...{ action: "opened", owner: "acme", repo: "gated", number: 3, headSha: repo.sha, installationId: 95 },
        ...{ sshUrl: pyci.sshd.sshUrl(repo.dir), cloneUrl: "http://127.0.0.1:9/acme/gated.git" },
      }),
    );
    const delivery = await send(
      "POST",
      "/api/github/webhooks",
      {
        "content-type": "application/json",
        "x-github-event": "pull_request",
        "x-github-delivery": crypto.randomUUID(),
        "x-hub-signature-256": await sign(pyci.webhookSecret, payload),
      },
      payload,
    );
    expect(delivery.status, delivery.body).toBe(200);

    await eventually(() => !!latestStatus(pyci.fake.statuses, repo.sha, "ci/test"), 30_000, "a pending ci/test");
    const buildUrl = new URL(latestStatus(pyci.fake.statuses, repo.sha, "ci/test")!.body.target_url!);
    const events: { event: string; data: string }[] = [];
    let heldWhenLogArrived = false;
    const stream = new Promise<void>((resolve, reject) => {
      const req = request(
        {
          ...{ host: "127.0.0.1", port: ports.https, servername: HOST_NAME, ca },
          ...{ path: `${buildUrl.pathname}/events`, headers: { accept: "text/event-stream" } },
        },
        (res) => {
          expect(res.statusCode).toBe(200);
          expect(res.headers["content-type"]).toMatch(/^text\/event-stream/);
          let buffer = "";
          res.on("data", (chunk: Buffer) => {
            buffer += chunk.toString();
            for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
              const block = buffer.slice(0, end);
              buffer = buffer.slice(end + 2);
              const event = /^event: (.*)$/m.exec(block)?.[1];
              const data = /^data: (.*)$/m.exec(block)?.[1] ?? "";
              if (!event) continue;
              events.push({ event, data });
              if (event === "log" && data.includes("waiting for the gate") && !heldWhenLogArrived) {
                // the build's test is blocked on the gate now: this line came through nginx live
                heldWhenLogArrived = held !== undefined && !held.destroyed;
                held?.end("go");
              }
              if (event === "end") {
                req.destroy();
                resolve();
              }
            }
          });
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end();
    });
    try {
      await stream;
    } finally {
      held?.destroy();
      gate.close();
    }
    expect(heldWhenLogArrived).toBe(true);
    expect(events.at(-1)).toEqual({ event: "end", data: JSON.stringify({ state: "success" }) });
    await eventually(
      () => latestStatus(pyci.fake.statuses, repo.sha, "ci/test")?.body.state === "success",
      30_000,
      "ci/test success",
    );
  });
});
