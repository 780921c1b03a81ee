import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { BuildRequest } from "../../src/model/build-request.js";
import { PIPELINES } from "../../src/builds/pipelines.js";
import {
  fromCheckRun,
  fromCheckSuite,
  fromMergedPullRequest,
  fromPullRequest,
  fromPush,
  Ignored,
} from "../../src/handlers/build-request-from.js";

/**
 * Property: whatever a (signed) payload holds, the build request parsers
 * either ignore it or return a request every field of which is safe to hand
 * to git and to show: never an exception, never an option-looking or
 * path-traversing value.
 */

const SHA = "a".repeat(40);

/** Strings that have hurt CI systems: options, shell, traversal, control characters, unicode, long. */
const HOSTILE = [
  "--upload-pack=touch /tmp/pwned",
  "-oProxyCommand=touch /tmp/pwned",
  "$(touch /tmp/pwned)",
  "`touch /tmp/pwned`",
  "a; touch /tmp/pwned",
  "feature branch",
  `it's "quoted"`,
  "..",
  ".",
  "../../etc/passwd",
  "acme/../../x",
  "a..b",
  "-",
  "--",
  "",
  " ",
  "\u0000",
  "line\nbreak",
  "tab\there",
  "ünïcödé-分支-🚀",
  "\u202eevil",
  "ext::sh -c touch% /tmp/pwned",
  "file:///etc",
  "x".repeat(3000),
  "A".repeat(40),
  "g".repeat(40),
  `${SHA}\n`,
  ` ${SHA}`,
];

const hostileString = fc.oneof(
  fc.constantFrom(...HOSTILE),
  fc.string(),
  fc.string({ unit: "binary" }),
  fc.string({ unit: "grapheme" }),
  fc.stringMatching(/^-[a-z-]{1,20}(=.{0,20})?$/),
);
const hostileValue = fc.oneof(
  { weight: 4, arbitrary: hostileString },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      null,
      undefined,
      0,
      -1,
      1.5,
      Number.POSITIVE_INFINITY,
      Number.MAX_SAFE_INTEGER + 2,
      true,
      [],
      {},
    ),
  },
);

const PULL_REQUEST_PATHS = [
  "action",
  "installation",
  "installation.id",
  "repository",
  "repository.name",
  "repository.owner",
  "repository.owner.login",
  "repository.ssh_url",
  "repository.clone_url",
  "pull_request",
  "pull_request.number",
  "pull_request.title",
  "pull_request.html_url",
  "pull_request.head",
  "pull_request.head.ref",
  "pull_request.head.sha",
  "pull_request.base.ref",
  "pull_request.merged",
  "pull_request.merge_commit_sha",
];

const CHECK_PATHS = [
  "installation.id",
  "repository.name",
  "repository.owner.login",
  "repository.ssh_url",
  "repository.clone_url",
  "check.head_sha",
  "check.name",
  "check.pull_requests",
  "check.pull_requests.0",
  "check.pull_requests.0.number",
  "check.pull_requests.0.head",
];

/** The payload with some of `paths` replaced by hostile values (or removed). */
function mutated(base: () => Record<string, unknown>, paths: string[]) {
  return fc
    .array(fc.tuple(fc.constantFrom(...paths), hostileValue, fc.boolean()), { minLength: 1, maxLength: 4 })
    .map((changes) => {
      const payload = base();
      for (const [path, value, remove] of changes) set(payload, path.split("."), remove ? undefined : value, remove);
      return payload;
    });
}

function set(target: Record<string, unknown>, keys: string[], value: unknown, remove: boolean): void {
  let node: unknown = target;
  for (const key of keys.slice(0, -1)) {
    if (typeof node !== "object" || node === null) return;
    node = (node as Record<string, unknown>)[key];
  }
  if (typeof node !== "object" || node === null) return;
  const last = keys.at(-1)!;
  if (remove) delete (node as Record<string, unknown>)[last];
  else (node as Record<string, unknown>)[last] = value;
}

/** The fields of a pull_request delivery the parsers read (GitHub's payloads carry many more). */
const repository = () => ({
  name: "widgets",
  owner: { login: "acme" },
  ssh_url: "git@github.com:acme/widgets.git",
  clone_url: "https://github.com/acme/widgets.git",
  default_branch: "main",
});
const pullRequest = (): Record<string, unknown> => ({
  action: "closed",
  number: 7,
  installation: { id: 42 },
  repository: repository(),
  pull_request: {
    number: 7,
    title: "Add label()",
    html_url: "https://github.com/acme/widgets/pull/7",
    head: { ref: "feature", sha: SHA },
    base: { ref: "main", sha: "c".repeat(40) },
    merged: true,
    merge_commit_sha: "b".repeat(40),
  },
});

/** A push delivery (the Actions workflow's docs job). */
const push = (): Record<string, unknown> => ({
  ref: "refs/heads/main",
  after: SHA,
  deleted: false,
  installation: { id: 42 },
  repository: repository(),
});
const PUSH_PATHS = [
  "ref",
  "after",
  "deleted",
  "installation.id",
  "repository.name",
  "repository.owner.login",
  "repository.ssh_url",
  "repository.clone_url",
];

/** A check_run or check_suite payload, its object under `check` (renamed before parsing). */
const checkPayload = () => {
  return {
    action: "rerequested",
    installation: { id: 42 },
    repository: repository(),
    check: { id: 5, name: "pyci", head_sha: SHA, pull_requests: [{ number: 7, head: { sha: SHA } }] },
  } as Record<string, unknown>;
};

const NAME = /^[A-Za-z0-9_.-]{1,100}$/;

/** What every build request must satisfy: fields git sees are not options, paths or shell; the rest are plain data. */
function expectSafe(request: BuildRequest | Ignored, deliveryId: string): void {
  if (request instanceof Ignored) {
    expect(typeof request.reason).toBe("string");
    return;
  }
  expect(Object.keys(PIPELINES)).toContain(request.pipeline);
  for (const name of [request.owner, request.repo]) {
    expect(name).toMatch(NAME);
    expect([".", ".."]).not.toContain(name);
  }
  expect(request.sha).toMatch(/^[0-9a-f]{40}$/);
  for (const url of [request.sshUrl, request.cloneUrl]) {
    expect(typeof url).toBe("string");
    expect(url.length).toBeGreaterThan(0);
    expect(url.length).toBeLessThan(2048);
    expect(url.startsWith("-")).toBe(false);
    expect(url).not.toMatch(/[\s\u0000-\u001f]/);
  }
  expect(request.deliveryId).toBe(deliveryId);
  expect(typeof request.event).toBe("string");
  if (request.installationId !== undefined)
    expect(
      Number.isSafeInteger(request.installationId) && request.installationId > 0,
      `installation ${request.installationId}`,
    ).toBe(true);
  if (request.prNumber !== undefined)
    expect(Number.isSafeInteger(request.prNumber) && request.prNumber > 0, `PR ${request.prNumber}`).toBe(true);
  for (const text of [request.branch, request.prTitle, request.prUrl]) {
    if (text !== undefined) expect(typeof text).toBe("string");
  }
  if (request.pipeline === "docs") expect(request.branch).toBeTruthy();
}

const RUNS = { numRuns: 400 };

describe("build requests from hostile payloads", () => {
  it("the unmodified payloads are built (so the properties below are not vacuous)", () => {
    expect(fromPullRequest(pullRequest(), "d")).not.toBeInstanceOf(Ignored);
    expect(fromMergedPullRequest(pullRequest(), "d")).not.toBeInstanceOf(Ignored);
    expect(fromPush(push(), "d")).toMatchObject({ pipeline: "docs", sha: SHA, branch: "main", event: "push" });
    const check = checkPayload();
    expect(fromCheckRun({ ...check, check_run: check.check }, "d")).not.toBeInstanceOf(Ignored);
    expect(fromCheckSuite({ ...check, check_suite: check.check }, "d")).not.toBeInstanceOf(Ignored);
  });

  it("pull_request: ignored, or a request whose fields pass the validators", () => {
    fc.assert(
      fc.property(
        mutated(pullRequest, PULL_REQUEST_PATHS),
        fc.constantFrom("installation", "token") as fc.Arbitrary<"installation" | "token">,
        (payload, auth) => {
          expectSafe(fromPullRequest(payload, "delivery-1", auth), "delivery-1");
          expectSafe(fromMergedPullRequest(payload, "delivery-1", auth), "delivery-1");
        },
      ),
      RUNS,
    );
  });

  it("push: ignored, or a docs request whose fields pass the validators; tags and deleted branches build nothing", () => {
    fc.assert(
      fc.property(
        mutated(push, PUSH_PATHS),
        fc.constantFrom("installation", "token") as fc.Arbitrary<"installation" | "token">,
        (payload, auth) => expectSafe(fromPush(payload, "delivery-4", auth), "delivery-4"),
      ),
      RUNS,
    );
    expect(fromPush({ ...push(), ref: "refs/tags/v1" }, "d")).toBeInstanceOf(Ignored);
    expect(fromPush({ ...push(), deleted: true, after: "0".repeat(40) }, "d")).toBeInstanceOf(Ignored);
    expect(fromPush({ ...push(), ref: "refs/heads/" }, "d")).toBeInstanceOf(Ignored);
  });

  it("check_run and check_suite: ignored, or a request whose fields pass the validators", () => {
    fc.assert(
      fc.property(mutated(checkPayload, CHECK_PATHS), (payload) => {
        const { check, ...rest } = payload;
        expectSafe(fromCheckRun({ ...rest, check_run: check }, "delivery-2"), "delivery-2");
        expectSafe(fromCheckSuite({ ...rest, check_suite: check }, "delivery-2"), "delivery-2");
      }),
      RUNS,
    );
  });

  it("any JSON object at all is ignored or safe, never an exception", () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.constantFrom(
            "action",
            "pull_request",
            "repository",
            "installation",
            "check_run",
            "check_suite",
            "number",
            "ref",
            "after",
          ),
          fc.jsonValue({ maxDepth: 3 }),
        ),
        (payload) => {
          for (const parse of [fromPullRequest, fromMergedPullRequest, fromPush, fromCheckRun, fromCheckSuite])
            expectSafe(parse(payload, "d3"), "d3");
        },
      ),
      RUNS,
    );
  });

  it("ignores owners and repositories named . or .. (they would climb in API paths)", () => {
    for (const name of [".", ".."]) {
      for (const key of ["owner", "name"] as const) {
        const payload = pullRequest() as { repository: { name: string; owner: { login: string } } };
        if (key === "owner") payload.repository.owner.login = name;
        else payload.repository.name = name;
        expect(fromPullRequest(payload, "d5"), `${key} ${name}`).toBeInstanceOf(Ignored);
      }
    }
  });

  it("a hostile head branch is kept as data only: the request builds the commit, not the branch", () => {
    for (const ref of HOSTILE) {
      const payload = pullRequest() as { pull_request: { head: { ref: string } } };
      payload.pull_request.head.ref = ref;
      const request = fromPullRequest(payload, "d4");
      expect(request).not.toBeInstanceOf(Ignored);
      expect((request as BuildRequest).sha).toBe(SHA);
    }
  });
});
