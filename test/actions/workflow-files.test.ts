import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

const root = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));
const read = (path: string) => readFileSync(root(path), "utf8");
type Step = { uses?: string; run?: string; with?: Record<string, unknown>; env?: Record<string, string> };

/** The documented workflow and action.yml: what users copy must say what pyci needs. */
describe("the GitHub Actions workflow and action.yml", () => {
  const workflowText = read("docs/pyci-workflow.yml");
  const workflow = parse(workflowText);

  it("the workflow in docs/github-actions.md is docs/pyci-workflow.yml, word for word", () => {
    const blocks = [...read("docs/github-actions.md").matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]);
    expect(blocks[0]).toBe(workflowText);
  });

  it("checks pull requests in a job that cannot publish, with a concurrency group per pull request", () => {
    expect(workflow.on.pull_request).toEqual({ types: ["opened", "reopened", "synchronize"] });
    expect(workflow.permissions).toBeUndefined(); // each job says what it may write
    const check = workflow.jobs.check;
    expect(check.if).toBe("github.event_name == 'pull_request'");
    expect(check.permissions).toEqual({ contents: "read", statuses: "write", checks: "write" });
    expect(check.concurrency).toEqual({
      group: "pyci-check-${{ github.event.pull_request.number }}",
      "cancel-in-progress": true,
    });
    const steps = check.steps as Step[];
    expect(steps.find((s) => s.uses?.startsWith("actions/checkout@"))!.with).toEqual({
      ref: "${{ github.event.pull_request.head.sha }}",
      "persist-credentials": false,
    });
    expect(steps.at(-1)!.uses).toMatch(/\/pyci@/);
  });

  it("publishes docs only from pushes to the default branch, the one job with contents: write", () => {
    expect(Object.keys(workflow.on)).toEqual(["pull_request", "push"]);
    expect(workflow.on.push).toEqual({ branches: ["main"] });
    const docs = workflow.jobs.docs;
    expect(docs.if).toBe("github.event_name == 'push'");
    expect(docs.permissions).toEqual({ contents: "write", statuses: "write", checks: "write" });
    // the pushed commit itself (actions/checkout's default): never a pull request's head
    const steps = docs.steps as Step[];
    expect(steps.find((s) => s.uses?.startsWith("actions/checkout@"))!.with).toEqual({ "persist-credentials": false });
    expect(steps.at(-1)!.uses).toMatch(/\/pyci@/);
    const writers = Object.entries(workflow.jobs as Record<string, { permissions: Record<string, string> }>)
      .filter(([, job]) => job.permissions.contents === "write")
      .map(([name]) => name);
    expect(writers).toEqual(["docs"]);
  });

  it("uses the current majors of GitHub's actions (Node 24)", () => {
    const uses = [...`${workflowText}\n${read("action.yml")}`.matchAll(/uses: (actions\/[\w-]+)@(\S+)/g)].map(
      (m) => `${m[1]}@${m[2]}`,
    );
    expect(new Set(uses)).toEqual(new Set(["actions/checkout@v7", "actions/setup-python@v6", "actions/setup-node@v6"]));
  });

  it("action.yml sets up Node 24, installs only pyright, and runs the committed bundle with the job's token", () => {
    const action = parse(read("action.yml"));
    expect(action.runs.using).toBe("composite");
    const steps = action.runs.steps as Step[];
    expect(steps[0]!.uses).toMatch(/^actions\/setup-node@/);
    expect(action.inputs["node-version"].default).toBe("24");
    expect(steps[1]!.run).toBe(
      'cd "$GITHUB_ACTION_PATH/action" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund',
    );
    // exec: the runner's SIGINT of a cancelled run reaches node, not only bash
    expect(steps[2]!.run).toBe('exec node "$GITHUB_ACTION_PATH/action/index.js"');
    expect(steps[2]!.env).toEqual({
      GITHUB_TOKEN: "${{ inputs.token }}",
      CI_PYTHON: "${{ inputs.python }}",
      CI_STEP_TIMEOUT: "${{ inputs.step-timeout }}",
      CI_DOCS_RELEASES_KEEP: "${{ inputs.docs-releases-keep }}",
    });
    expect(action.inputs.token.default).toBe("${{ github.token }}");
    for (const used of JSON.stringify(action.runs).matchAll(/inputs\.([\w-]+)/g))
      expect(action.inputs).toHaveProperty([used[1]!]);
    const pkg = JSON.parse(read("package.json"));
    expect(pkg.bin["pyci-actions"]).toBe("dist/actions.js");
    expect(pkg.scripts.build).toContain("dist/actions.js");
    expect(pkg.scripts["build:action"]).toBe("node scripts/build-action.js");
    // the npm package is the server and `pyci-actions`; the action is the repository
    expect(pkg.files.some((f: string) => f.startsWith("action"))).toBe(false);
  });
});
