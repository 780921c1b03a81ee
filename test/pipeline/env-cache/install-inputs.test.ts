import { describe, expect, it } from "vitest";
import { installInputs } from "../../../src/pipeline/env-cache/install-inputs.js";
import { pipCommandArgs } from "../../../src/pipeline/env-cache/pip-command-args.js";
import { requirementLines } from "../../../src/pipeline/env-cache/stage-inputs.js";

describe("what a pip install reads of the checkout", () => {
  it("names requirement files, local packages and --find-links directories", () => {
    expect(
      installInputs(["-r", "requirements.txt", "--find-links=wheels", "./pkg", "dist/x-1.0-py3-none-any.whl"]),
    ).toEqual({
      inputs: [
        { kind: "requirements", path: "requirements.txt" },
        { kind: "path", path: "wheels" },
        { kind: "path", path: "pkg" },
        { kind: "path", path: "dist/x-1.0-py3-none-any.whl" },
      ],
    });
    expect(installInputs(["-rother.txt", "-c", "constraints.txt"], "reqs")).toEqual({
      inputs: [
        { kind: "requirements", path: "reqs/other.txt" },
        { kind: "requirements", path: "reqs/constraints.txt" },
      ],
    });
    expect(
      installInputs(["requests==2.31", "--no-index", "-i", "https://pypi.example/simple", "pkg @ https://x/y.whl"]),
    ).toEqual({
      inputs: [],
    });
  });

  it("is not cacheable when it reads what the key cannot name", () => {
    const problem = (args: string[]) => ("problem" in installInputs(args) ? installInputs(args) : undefined);
    expect(problem(["-e", "."])).toEqual({ problem: "an editable install (-e) points at one build's checkout" });
    expect(problem(["."])).toEqual({ problem: "it installs the repository itself (.)" });
    expect(problem(["./"])).toEqual({ problem: "it installs the repository itself (.)" });
    expect(problem(["../sibling"])).toEqual({ problem: "../sibling is outside the repository" });
    expect(problem(["/opt/pkg"])).toEqual({ problem: "/opt/pkg is outside the repository" });
    expect(problem(["-r", "../../etc/req.txt"])).toEqual({ problem: "../../etc/req.txt is outside the repository" });
    expect(problem(["pkg @ file:///tmp/pkg"])).toEqual({ problem: "pkg @ file:///tmp/pkg is a file: URL" });
    expect(problem(["--target", "/tmp/x"])).toEqual({ problem: "pyci does not cache installs with --target" });
    expect(problem(["--user"])).toEqual({ problem: "pyci does not cache installs with --user" });
    expect(problem(["${PKG}"])).toEqual({ problem: "${PKG} names an environment variable" });
  });

  it("reads a requirements file's lines as pip does: comments, continuations, markers, per-line options", () => {
    expect(
      requirementLines(
        "# top\nrequests==2.31 ; python_version > '3' --hash=sha256:abc\n-r \\\n  dev.txt\n\nx  # note\n",
      ),
    ).toEqual([["requests==2.31", "--hash=sha256:abc"], ["-r", "dev.txt"], ["x"]]);
  });

  it("takes install commands that only run pip install, nothing a shell would do more with", () => {
    expect(pipCommandArgs("pip install -r requirements.txt")).toEqual({ args: ["-r", "requirements.txt"] });
    expect(pipCommandArgs("python -m pip install --no-index -f wheels x==1")).toEqual({
      args: ["--no-index", "-f", "wheels", "x==1"],
    });
    expect(pipCommandArgs("pip install -r requirements.txt && python setup.py build")).toEqual({
      problem: '"pip install -r requirements.txt && python setup.py build" uses shell syntax (&)',
    });
    expect(pipCommandArgs("pip install 'x>=1'")).toMatchObject({ problem: expect.stringContaining("shell syntax") });
    expect(pipCommandArgs("pip install ~/x")).toMatchObject({ problem: expect.stringContaining("shell syntax (~)") });
    expect(pipCommandArgs("make deps")).toEqual({ problem: '"make deps" is not a pip install' });
  });
});
