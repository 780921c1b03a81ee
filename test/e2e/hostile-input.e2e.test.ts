import { createHmac, randomBytes, randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BuildStore } from "../../src/store/build-store.js";
import { generateAppKey } from "../support/app-key.js";
import { startFakeGitHub, type FakeGitHub, type StatusRecord } from "../support/fake-github.js";
import { makeRepo, type TestRepo } from "../support/git-repo.js";
import { postLarge } from "../support/post-large.js";
import { freePort, sleep, spawnServer, waitUntilServing, type ServerProcess } from "../support/server-process.js";
import { startSshd, type TestSshd } from "../support/sshd.js";

/**
 * Hostile and broken input at the real server (`node dist/server.js`, run `npm run build` first):
 * arbitrary requests at the webhook endpoint, bodies over GitHub's 25 MB cap, and signed deliveries
 * whose branch, repository and URL fields are shell, options, traversal and unicode. Nothing may
 * crash the server, reach GitHub unsigned, run a command, or write outside CI_WORK_DIR/CI_DATA_DIR.
 */

const APP_ID = 5151;
const INSTALLATION_ID = 91;
const OWNER = "acme";
const REPO = "widgets";
const MiB = 1024 * 1024;
/** In every unsigned body: the server's log must never show it (refusals log id, event and reason only). */
const MARKER = `unsigned-payload-${randomBytes(6).toString("hex")}`;

const PROJECT = {
  "calc.py": "def add(a: int, b: int) -> int:\n    return a + b\n",
  "test_calc.py":
    "import unittest\n\nfrom calc import add\n\n\nclass AddTest(unittest.TestCase):\n    def test_adds(self):\n        self.assertEqual(add(2, 3), 5)\n",
};

/** VmRSS of a process, in bytes (Linux). */
function rss(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((l) => l.startsWith("VmRSS:"));
  return Number(/(\d+)/.exec(line ?? "")?.[1] ?? NaN) * 1024;
}

function signed(secret: string, body: string | Uint8Array): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

describe("hostile input at the server process", () => {
  const privateKey = generateAppKey();
  const secret = `pyci-hostile-${randomBytes(12).toString("base64url")}`;
  const adminToken = randomBytes(24).toString("hex");
  let fake: FakeGitHub;
  let sshd: TestSshd;
  let repo: TestRepo;
  let server: ServerProcess;
  let root: string;
  let dataDir: string;
  let workDir: string;
  let cwd: string;
  let tmp: string;
  /** Where every injected command would write: must stay empty. */
  let canary: string;
  let hookUrl: string;

  /** A pull_request delivery with only the fields pyci reads (the rest of GitHub's payload does not matter here). */
  const pullRequest = (
    o: { ref?: string; name?: string; owner?: string; sshUrl?: string; number?: number; action?: string } = {},
  ) => ({
    action: o.action ?? "opened",
    number: o.number ?? 3,
    installation: { id: INSTALLATION_ID },
    repository: {
      name: o.name ?? REPO,
      full_name: `${o.owner ?? OWNER}/${o.name ?? REPO}`,
      owner: { login: o.owner ?? OWNER },
      ssh_url: o.sshUrl ?? sshd.sshUrl(repo.dir),
      clone_url: "http://127.0.0.1:9/acme/widgets.git",
      default_branch: "main",
    },
    pull_request: {
      number: o.number ?? 3,
      title: "hostile",
      html_url: `https://github.com/${OWNER}/${REPO}/pull/${o.number ?? 3}`,
      // the same repository on both sides: not a fork (CI_FORK_POLICY)
      head: { ref: o.ref ?? "feature", sha: repo.sha, repo: { id: 1, name: REPO, owner: { login: OWNER } } },
      base: { ref: "main", sha: "c".repeat(40), repo: { id: 1, name: REPO, owner: { login: OWNER } } },
      merged: false,
    },
  });

  const builds = () => {
    if (!existsSync(join(dataDir, "pyci.db"))) return [];
    const store = new BuildStore(dataDir);
    try {
      return store.list({ limit: 500 });
    } finally {
      store.close();
    }
  };

  const waitUntilIdle = async (timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while (builds().some((b) => b.state === "queued" || b.state === "running")) {
      if (Date.now() > deadline) throw new Error("builds still queued or running");
      await sleep(250);
    }
  };

  beforeAll(async () => {
    [fake, sshd] = await Promise.all([startFakeGitHub({ appId: APP_ID, privateKey }), startSshd()]);
    repo = makeRepo(PROJECT);
    root = mkdtempSync(join(tmpdir(), "pyci-hostile-"));
    dataDir = mkdtempSync(join(root, "data-"));
    workDir = mkdtempSync(join(root, "work-"));
    cwd = mkdtempSync(join(root, "cwd-"));
    tmp = mkdtempSync(join(root, "tmp-"));
    canary = mkdtempSync(join(root, "canary-"));
    const port = await freePort();
    hookUrl = `http://127.0.0.1:${port}/api/github/webhooks`;
    server = spawnServer(
      {
        NODE_ENV: "production",
        APP_ID: String(APP_ID),
        PRIVATE_KEY: privateKey,
        WEBHOOK_SECRET: secret,
        PORT: String(port),
        HOST: "127.0.0.1",
        GHE_HOST: fake.host,
        GHE_PROTOCOL: "http",
        CI_PUBLIC_URL: `http://127.0.0.1:${port}`,
        CI_DATA_DIR: dataDir,
        CI_WORK_DIR: workDir,
        CI_SSH_KEY_PATH: sshd.clientKeyPath,
        CI_SSH_KNOWN_HOSTS: sshd.knownHostsPath,
        CI_CONCURRENCY: "2",
        CI_ADMIN_TOKEN: adminToken,
        LOG_LEVEL: "debug",
        TMPDIR: tmp,
        PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
      },
      cwd,
    );
    expect((await waitUntilServing(server, "/ping")).status).toBe(200);
  }, 30_000);

  afterAll(async () => {
    await Promise.allSettled([server?.stop(), sshd?.stop(), fake?.stop()]);
    repo?.remove();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it("answers arbitrary unsigned requests with 4xx, never logs their payload, never calls GitHub", async () => {
    const requestsBefore = fake.requests.length;
    const ascii = fc.string({ unit: "grapheme-ascii", maxLength: 80 });
    const body = fc.oneof(
      fc.json({ maxDepth: 3 }).map((json) => `{"marker":"${MARKER}","x":${json}}`),
      fc.constant(JSON.stringify({ ...pullRequest(), marker: MARKER })),
      fc.string({ maxLength: 200 }).map((s) => `${MARKER}${s}`),
      fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.concat([Buffer.from(MARKER), bytes])),
    );
    const signature = fc.oneof(
      fc.constant(undefined),
      fc.constant(`sha256=${"0".repeat(64)}`),
      fc.stringMatching(/^sha256=[0-9a-f]{64}$/),
      fc.stringMatching(/^sha1=[0-9a-f]{40}$/),
      ascii,
      fc.constant("signed with another secret"),
    );
    const request = fc.record({
      method: fc.constantFrom("POST", "POST", "POST", "POST", "POST", "GET", "PUT"),
      path: fc.constantFrom(
        "/api/github/webhooks",
        "/api/github/webhooks/",
        "/api/github/webhooks?x=1",
        "/api/github/webhooks//",
      ),
      contentType: fc.option(
        fc.oneof(
          fc.constant("application/json"),
          fc.constantFrom(
            "application/json",
            "application/json; charset=utf-8",
            " APPLICATION/JSON",
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
          ),
          ascii,
        ),
        { nil: undefined, freq: 8 },
      ),
      event: fc.option(
        fc.oneof(
          fc.constantFrom(
            "pull_request",
            "check_run",
            "check_suite",
            "ping",
            "__proto__",
            "constructor",
            "pull_request.opened",
          ),
          ascii,
        ),
        { nil: undefined },
      ),
      delivery: fc.option(fc.oneof(fc.uuid(), ascii), { nil: undefined }),
      signature,
      body,
    });
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const headers: Record<string, string> = {};
        if (r.contentType !== undefined) headers["content-type"] = r.contentType;
        if (r.event !== undefined) headers["x-github-event"] = r.event;
        if (r.delivery !== undefined) headers["x-github-delivery"] = r.delivery;
        if (r.signature !== undefined)
          headers["x-hub-signature-256"] =
            r.signature === "signed with another secret" ? signed("not-the-secret", r.body) : r.signature;
        const withBody = r.method !== "GET";
        const res = await fetch(`http://127.0.0.1:${new URL(hookUrl).port}${r.path}`, {
          method: r.method,
          headers,
          ...(withBody ? { body: r.body } : {}),
        });
        await res.arrayBuffer();
        seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
        expect(res.status, `${r.method} ${JSON.stringify(headers)}`).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
      }),
      { numRuns: 200 },
    );
    await sleep(1000);
    expect(server.alive()).toBe(true);
    expect(fake.requests.slice(requestsBefore).map((r) => `${r.method} ${r.path}`)).toEqual([]);
    expect(builds()).toEqual([]);
    expect(server.output()).toContain("webhook delivery refused");
    expect(server.output().includes(MARKER), "an unsigned payload reached the log").toBe(false);
    console.info(`unsigned requests by status: ${JSON.stringify(Object.fromEntries([...seen].sort()))}`);
  }, 120_000);

  it("refuses bodies over 25 MB with 413 without reading them whole, keeping its memory", async () => {
    const pid = server.child.pid!;
    const before = rss(pid);

    // declared: answered before a byte of the body is read
    const declared = await postLarge(hookUrl, 26 * MiB, { chunked: false });
    expect(declared.status, JSON.stringify(declared)).toBe(413);
    const afterDeclared = rss(pid);

    // asked first (Expect: 100-continue): told not to send at all
    const asked = await postLarge(hookUrl, 26 * MiB, { chunked: false, expectContinue: true });
    expect(asked.status, JSON.stringify(asked)).toBe(413);
    expect(asked.sent).toBe(0);

    // chunked: counted while streaming, the connection dropped past the cap
    const total = 256 * MiB;
    const chunked = await postLarge(hookUrl, total, { chunked: true });
    expect(chunked.status, JSON.stringify(chunked)).toBe(413);
    expect(chunked.sent).toBeLessThan(total / 2);
    const afterChunked = rss(pid);

    // any route: a declared body over the cap is not read
    const elsewhere = await postLarge(`${new URL(hookUrl).origin}/builds`, 26 * MiB, { chunked: false });
    expect(elsewhere.status).toBe(413);

    expect(server.alive()).toBe(true);
    expect((await fetch(`${new URL(hookUrl).origin}/ping`)).status).toBe(200);
    console.info(
      `413s: RSS ${(before / MiB).toFixed(1)} MiB → ${(afterDeclared / MiB).toFixed(1)} after 26 MiB declared → ${(afterChunked / MiB).toFixed(1)} after ${total / MiB} MiB chunked (client got ${(chunked.sent / MiB).toFixed(1)} MiB onto the wire)`,
    );
    expect(afterDeclared - before).toBeLessThan(16 * MiB);
    expect(afterChunked - before).toBeLessThan(96 * MiB);
  }, 60_000);

  it("answers arbitrary signed deliveries with 2xx or 4xx, never 5xx, and stays up", async () => {
    const ascii = fc.string({ unit: "grapheme-ascii", maxLength: 40 });
    const hostile = fc.oneof(
      fc.constantFrom("..", "-x", "$(id)", "a b", "ü", "", "--upload-pack=x"),
      fc.string({ maxLength: 30 }),
      fc.jsonValue({ maxDepth: 2 }),
    );
    const field = fc.constantFrom(
      "action",
      "number",
      "installation",
      "repository",
      "pull_request",
      "check_run",
      "check_suite",
      "sender",
    );
    const payload = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      fc.dictionary(field, fc.jsonValue({ maxDepth: 3 })),
      fc
        .tuple(
          fc.constantFrom(
            "repository.name",
            "repository.owner",
            "repository.ssh_url",
            "pull_request.head",
            "pull_request.number",
            "installation.id",
            "pull_request",
          ),
          hostile,
        )
        .map(([path, value]) => {
          const p = pullRequest({ number: 100 }) as Record<string, any>;
          const [a, b] = path.split(".") as [string, string | undefined];
          if (b === undefined) p[a] = value;
          else p[a][b] = value;
          return p;
        }),
    );
    const delivery = fc.record({
      event: fc.oneof(
        fc.constantFrom(
          "pull_request",
          "check_run",
          "check_suite",
          "ping",
          "installation",
          "star",
          "__proto__",
          "constructor",
          "hasOwnProperty",
        ),
        ascii.filter((s) => s.trim() === s && s.length > 0),
      ),
      payload,
    });
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(delivery, async ({ event, payload }) => {
        const body = JSON.stringify(payload) ?? "null";
        const res = await fetch(hookUrl, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "x-github-event": event,
            "x-github-delivery": randomUUID(),
            "x-hub-signature-256": signed(secret, body),
          },
          body,
        });
        const text = await res.text();
        seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
        expect(res.status, `${event} ${body.slice(0, 300)} → ${text}`).toBeLessThan(500);
      }),
      { numRuns: 150 },
    );
    expect(server.alive()).toBe(true);
    console.info(`signed deliveries by status: ${JSON.stringify(Object.fromEntries([...seen].sort()))}`);
  }, 120_000);

  it("builds or ignores deliveries with hostile branch and repository names, running nothing and writing nowhere else", async () => {
    const pwned = join(canary, "pwned");
    const refs = [
      `--upload-pack=touch ${pwned}`,
      `$(touch ${pwned})`,
      `\`touch ${pwned}\``,
      `x;touch ${pwned}`,
      "feature with spaces",
      `it's "quoted"`,
      "../../../../etc/passwd",
      "-rf",
      "ünïcödé/分支-🚀",
      "<script>alert(1)</script>",
    ];
    const names = ["..", "../widgets", "widgets/../../x", "-widgets", "wid gets", "wïdgets", "$(touch x)"];
    const sent: { what: string; status: number }[] = [];
    const send = async (what: string, payload: unknown, event = "pull_request") => {
      const body = JSON.stringify(payload);
      const res = await fetch(hookUrl, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-github-event": event,
          "x-github-delivery": randomUUID(),
          "x-hub-signature-256": signed(secret, body),
        },
        body,
      });
      await res.text();
      sent.push({ what, status: res.status });
    };
    // a commit of its own, once the earlier tests' builds are done (a delivery for a commit being built joins that build)
    await waitUntilIdle(90_000);
    repo.commit({ "notes.txt": "hostile names\n" }, "a commit for hostile names");
    const buildsBefore = builds().length;
    for (const [i, ref] of refs.entries()) await send(`head ref ${ref}`, pullRequest({ ref, number: 200 + i }));
    for (const name of names) await send(`repository ${name}`, pullRequest({ name, number: 300 }));
    for (const owner of names) await send(`owner ${owner}`, pullRequest({ owner, number: 301 }));
    await send("ssh_url option", pullRequest({ sshUrl: `--upload-pack=touch ${pwned}`, number: 302 }));
    await send("ssh_url ext::", pullRequest({ sshUrl: `ext::sh -c touch% ${pwned}`, number: 303 }));
    await send(
      "ssh_url proxy command",
      pullRequest({ sshUrl: `ssh://-oProxyCommand=touch%20${pwned}/x`, number: 304 }),
    );
    await send("merged into a hostile base", {
      ...pullRequest({ action: "closed", number: 305 }),
      pull_request: {
        ...pullRequest().pull_request,
        number: 305,
        merged: true,
        merge_commit_sha: repo.sha,
        base: { ref: `$(touch ${pwned})`, sha: repo.sha, repo: { id: 1 } },
      },
    });

    for (const { what, status } of sent) expect(status, what).toBeLessThan(300);

    // every hostile head ref was a build of the same commit: one build (later deliveries join it)
    // or one per pull request; either way each finished, and nothing ran
    await waitUntilIdle(90_000);
    const made = builds().slice(0, builds().length - buildsBefore);
    expect(made.length).toBeGreaterThan(0);
    for (const build of made) {
      // owner and repo are API path segments and page text only; "-widgets" is harmless there, ".." or "a/b" is not
      for (const name of [build.owner, build.repo]) expect(name).toMatch(/^(?!\.\.?$)[A-Za-z0-9_.-]{1,100}$/);
      expect(build.sha).toBe(repo.sha);
      expect(["success", "failure", "error"], `${build.id} ${build.state}`).toContain(build.state);
    }
    const branches = made.map((b) => b.branch);
    expect(branches.filter((b) => b !== undefined && b !== "feature" && !refs.includes(b))).toEqual([]);
    const finals = fake.statuses.filter(
      (s: StatusRecord) => s.sha === repo.sha && s.body.context === "ci/test" && s.body.state !== "pending",
    );
    expect(finals.length).toBeGreaterThan(0);
    expect(
      finals.every((s) => s.body.state === "success"),
      JSON.stringify(finals.map((s) => s.body)),
    ).toBe(true);

    // build pages and the list show the names as text
    const page = await (await fetch(`${new URL(hookUrl).origin}/builds/${made[0]!.id}`)).text();
    expect(page).not.toContain("<script>alert(1)</script>");
    const list = await (
      await fetch(`${new URL(hookUrl).origin}/builds`, { headers: { authorization: `Bearer ${adminToken}` } })
    ).text();
    expect(list).not.toContain("<script>alert(1)</script>");

    // nothing ran, nothing was written outside CI_DATA_DIR and CI_WORK_DIR
    expect(readdirSync(canary)).toEqual([]);
    expect(readdirSync(cwd)).toEqual([]);
    expect(readdirSync(root).sort()).toEqual(
      [canary, cwd, dataDir, tmp, workDir].map((d) => d.slice(root.length + 1)).sort(),
    );
    expect(readdirSync(tmp), "the server's TMPDIR").toEqual([]);
    expect(readdirSync(workDir).filter((n) => !n.startsWith("pyci-"))).toEqual([]);
    expect(existsSync(join(workDir, "..", "x"))).toBe(false);
    expect(fake.violations).toEqual([]);
    expect(server.alive()).toBe(true);
  }, 150_000);
});
