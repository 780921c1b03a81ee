import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

const root = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));
const read = (path: string) => readFileSync(root(path), "utf8");

/** The documented workflow and action.yml: what users copy must say what pyci needs. */
describe("the GitHub Actions workflow and action.yml", () => {
  const workflowText = read("docs/pyci-workflow.yml");
  const workflow = parse(workflowText);

  it("the workflow in docs/github-actions.md is docs/pyci-workflow.yml, word for word", () => {
    const blocks = [...read("docs/github-actions.md").matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]);
    expect(blocks[0]).toBe(workflowText);
  });

  it("runs on the pull_request actions pyci builds, with the permissions it writes with", () => {
    expect(workflow.on).toEqual({ pull_request: { types: ["opened", "reopened", "synchronize", "closed"] } });
    expect(workflow.permissions).toEqual({ statuses: "write", checks: "write", contents: "write" });
    const steps = workflow.jobs.pyci.steps as { uses?: string; with?: Record<string, unknown> }[];
    const checkout = steps.find((s) => s.uses?.startsWith("actions/checkout@"))!;
    expect(checkout.with).toEqual({
      ref: "${{ github.event.pull_request.merged && github.event.pull_request.merge_commit_sha || github.event.pull_request.head.sha }}",
      "persist-credentials": false,
    });
    expect(steps.some((s) => s.uses?.startsWith("actions/setup-python@"))).toBe(true);
    expect(steps.at(-1)!.uses).toMatch(/\/pyci@/);
  });

  it("action.yml is a composite action that sets up Node, installs pyci and runs dist/actions.js with the job's token", () => {
    const action = parse(read("action.yml"));
    expect(action.runs.using).toBe("composite");
    const steps = action.runs.steps as { uses?: string; run?: string; env?: Record<string, string> }[];
    expect(steps[0]!.uses).toMatch(/^actions\/setup-node@/);
    expect(steps[1]!.run).toBe('cd "$GITHUB_ACTION_PATH" && npm ci --no-audit --no-fund');
    expect(steps[2]!.run).toBe('node "$GITHUB_ACTION_PATH/dist/actions.js"');
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
  });
});
