import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { readdir, realpath, rm } from "node:fs/promises";
import { dirname, join, posix } from "node:path";
import { fileURLToPath } from "node:url";
import { countHtmlPages } from "./count-html-pages.js";
import { docsEnvironment } from "./docs-environment.js";
import { docsRequirements } from "./docs-requirements.js";
import { findDocs } from "./find-docs.js";
import { findSphinx, type Sphinx } from "./find-sphinx.js";
import { parseSphinxFatalError, type SphinxFatalError } from "../../parsers/sphinx-fatal-error.js";
import { parseSphinxWarnings } from "../../parsers/sphinx-warnings.js";
import { sphinxWarningCount } from "../../parsers/sphinx-warning-count.js";
import { pythonEnvironment } from "../../python-environment.js";
import { reuseResult } from "../../reuse-result.js";
import { runInBuild, withReadable } from "../../run-in-build.js";
import { sandboxEnv } from "../../../process/sandbox/sandbox-env.js";
import type { Artifact, Diagnostic, Step, StepContext, StepResult } from "../../types.js";
import type { Sandbox } from "../../../process/sandbox/sandbox.js";
import { cannotRun } from "../cannot-run.js";
import { stepFinisher } from "../step-finisher.js";
import { plural } from "../../../text/plural.js";

export const DOCS_ARCHIVE = "docs-html.tar.gz";
/** Where, inside the scratch dir, the HTML is built (`pyci run --docs` copies it out). */
export const DOCS_HTML_DIR = "docs-html";

/**
 * Builds the repository's Sphinx documentation as HTML.
 *
 * 1. Find the docs (the directory holding conf.py); none: `skipped`.
 * 2. Find Sphinx on the server (see findSphinx); none: `error`.
 * 3. When the repository declares docs requirements, install them into a
 *    virtualenv on top of that Sphinx (reused from the environment cache
 *    when it may be: docs-environment.ts) and build with the venv's python.
 * 4. Run `python -m sphinx -b html` (plus `-W --keep-going` when
 *    docs.warnings_as_errors) in the checkout, in the build's sandbox
 *    (with the Sphinx interpreter's directories readable there): conf.py,
 *    the modules autodoc imports and the requirements' install are the
 *    repository's code. So is the HTML: it is packed in the sandbox too.
 * 5. A non-zero exit is a `failure`, with the warnings and the error that
 *    stopped Sphinx as diagnostics and counts { warnings } (no artifact);
 *    exit 0 is a `success` with counts { pages, warnings } (warnings as
 *    Sphinx counts them: WARNING, ERROR and CRITICAL lines) and the HTML
 *    packaged as <scratchDir>/docs-html.tar.gz.
 *
 * The archive holds the HTML builder's output at its top level: `tar -xzf
 * docs-html.tar.gz` gives index.html, _static/, … in the current directory
 * (no `./` prefix, no wrapping folder, no hidden files such as .buildinfo).
 *
 * Sphinx runs without `-j auto`: an extension that does not declare itself
 * safe for parallel reading makes Sphinx warn, which `-W` turns into a
 * failed build, and small projects build slower in parallel.
 */
export const docsStep: Step = {
  name: "docs",
  status: "ci/docs",
  run: (ctx) =>
    reuseResult(ctx, {
      step: "docs",
      inputs: () => docsInputs(ctx),
      same: "same tree, Sphinx, configuration and Python packages",
      run: runDocs,
    }),
};

/**
 * What besides the tree changes the docs, for the result cache: the Sphinx
 * found (its version, and its interpreter's version and distributions),
 * pyci's own docs code and the repository's configuration. The docs'
 * requirements are keyed by what declares them (docs.install in the
 * configuration, a requirements file in the tree), so a hit skips their
 * virtualenv too; requirements that are not pinned may resolve to newer
 * releases than the stored build had.
 */
async function docsInputs(ctx: StepContext): Promise<unknown> {
  const quiet = { write() {} };
  const lookup = await findSphinx({
    python: ctx.python,
    sandbox: ctx.sandbox,
    scratchDir: ctx.scratchDir,
    timeoutMs: ctx.timeoutMs,
    log: quiet,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
  if (!lookup.found) return undefined;
  const options = { cwd: ctx.dir, env: sandboxEnv(ctx.scratchDir), timeoutMs: ctx.timeoutMs };
  const python = await pythonEnvironment(lookup.sphinx.python, options, {
    ...ctx,
    sandbox: sphinxSandbox(ctx.sandbox, lookup.sphinx),
  });
  if (!python) return undefined;
  docsCode ??= createHash("sha256")
    .update(readFileSync(fileURLToPath(import.meta.url)))
    .digest("hex");
  return { sphinx: lookup.sphinx.version, python, docsCode, repoConfig: ctx.repoConfig };
}

let docsCode: string | undefined;

async function runDocs(ctx: StepContext): Promise<StepResult> {
  const finish = stepFinisher("docs");
  const deadline = Date.now() + ctx.timeoutMs;
  const remaining = () => Math.max(1, deadline - Date.now());
  const signal = ctx.signal ? { signal: ctx.signal } : {};
  const { docs } = ctx.repoConfig;

  // 1. The docs.
  const srcDir = await findDocs(ctx.dir, docs.dir);
  if (srcDir === undefined) {
    if (docs.dir !== undefined) {
      return finish(
        "error",
        `docs.dir in .github/pyci.yml is ${docs.dir}, but ${posix.join(docs.dir, "conf.py")} does not exist`,
        null,
      );
    }
    ctx.log.write("No conf.py in docs/, doc/, docs/source/, doc/source/ or the repository root: nothing to build.\n");
    return finish("skipped", "No Sphinx docs found", null);
  }
  ctx.log.write(`Sphinx docs in ${srcDir === "." ? "the repository root" : `${srcDir}/`}\n`);

  // 2. Sphinx on the server.
  const lookup = await findSphinx({
    python: ctx.python,
    sandbox: ctx.sandbox,
    scratchDir: ctx.scratchDir,
    timeoutMs: remaining(),
    log: ctx.log,
    ...signal,
  });
  if (!lookup.found) return finish("error", lookup.problem, null);
  let sandbox = sphinxSandbox(ctx.sandbox, lookup.sphinx);
  let python = lookup.sphinx.python;
  let env = sandboxEnv(ctx.scratchDir);

  // 3. The docs' requirements, in a virtualenv on top of that Sphinx.
  const requirements = await docsRequirements(ctx.dir, srcDir, docs.install);
  if (requirements) {
    const venv = await docsEnvironment(ctx, lookup.sphinx, requirements, sandbox, deadline);
    if (venv.state !== "success" || !venv.python)
      return finish(venv.state, venv.summary, venv.exitCode, venv.advice ? { advice: venv.advice } : {});
    python = venv.python;
    const bin = dirname(venv.python);
    env = sandboxEnv(ctx.scratchDir, { PATH: `${bin}:${env.PATH}`, VIRTUAL_ENV: dirname(bin) });
    // a cached venv: shown read-only where it was made
    if (venv.mount) sandbox = { ...sandbox, mounts: [...(sandbox.mounts ?? []), venv.mount] };
  }

  // 4. Sphinx.
  const sandboxed = { sandbox, ...signal };
  const outDir = join(ctx.scratchDir, DOCS_HTML_DIR);
  const archive = join(ctx.scratchDir, DOCS_ARCHIVE);
  await Promise.all(
    [outDir, archive, join(ctx.scratchDir, "docs-doctrees")].map((path) => rm(path, { recursive: true, force: true })),
  );
  const args = ["-m", "sphinx", "-b", "html", "-d", join(ctx.scratchDir, "docs-doctrees")];
  if (docs.warningsAsErrors) args.push("-W", "--keep-going");
  args.push(srcDir, outDir);
  ctx.log.write(`$ ${[python, ...args].join(" ")}\n`);
  const output: string[] = [];
  const tee = {
    write(text: string) {
      output.push(text);
      ctx.log.write(text);
    },
  };
  const built = await runInBuild(sandboxed, { cmd: python, args, cwd: ctx.dir, env, timeoutMs: remaining(), log: tee });
  const problem = cannotRun(built, "Sphinx", ctx.timeoutMs);
  if (problem) return finish("error", problem, built.exitCode);

  // 5. The verdict.
  const text = output.join("");
  const repoRoot = await realpath(ctx.dir);
  // each line keeps its severity; the count is Sphinx's own (ERROR lines among its warnings)
  const warnings = parseSphinxWarnings(text, repoRoot);
  const warningCount = sphinxWarningCount(text) ?? warnings.length;
  if (built.exitCode !== 0) {
    const fatal = parseSphinxFatalError(text, repoRoot, srcDir);
    const diagnostics =
      fatal && fatal.category !== TREATED_AS_ERROR ? [...warnings, fatalDiagnostic(fatal, srcDir)] : warnings;
    return finish(
      "failure",
      failureSummary(fatal, warningCount, docs.warningsAsErrors, built.exitCode),
      built.exitCode,
      {
        diagnostics,
        counts: { warnings: warningCount },
      },
    );
  }
  const pages = await countHtmlPages(outDir).catch((err: unknown) => err as Error);
  if (pages instanceof Error)
    return finish("error", `Could not read the HTML output: ${pages.message.replace(`${ctx.scratchDir}/`, "")}`, 0, {
      diagnostics: warnings,
    });
  const counts = { pages, warnings: warningCount };
  const packed = await pack(outDir, archive, { ...ctx, ...sandboxed }, remaining());
  if (packed) return finish("error", packed, 0, { diagnostics: warnings, counts });
  const artifacts: Artifact[] = [{ name: DOCS_ARCHIVE, path: archive, contentType: "application/gzip" }];
  const errors = warnings.filter((d) => d.severity === "error").length;
  const summary = `Docs built: ${plural(pages, "page")}, ${warningCount === 0 ? "no warnings" : plural(warningCount, "warning")}${errors > 0 ? ` (${errors} of them ${errors === 1 ? "an error" : "errors"})` : ""}`;
  return finish("success", summary, 0, { diagnostics: warnings, counts, artifacts });
}

const TREATED_AS_ERROR = "Warning, treated as error";

/**
 * "Sphinx failed: 1 warning treated as error", "Sphinx failed: conf.py has
 * a syntax error at line 2: '[' was never closed", "Sphinx failed: conf.py
 * has an error: ModuleNotFoundError: No module named 'x'", "Sphinx failed:
 * extension error: Could not import extension x (…)", "Sphinx failed with
 * an exception: RuntimeError: …", "Sphinx failed with exit code 2; see the log".
 */
function failureSummary(
  fatal: SphinxFatalError | undefined,
  warnings: number,
  warningsAsErrors: boolean,
  exitCode: number | null,
): string {
  if (fatal?.category === TREATED_AS_ERROR || (!fatal && warningsAsErrors && warnings > 0)) {
    const count = Math.max(warnings, 1);
    return `Sphinx failed: ${plural(count, "warning")} treated as ${count === 1 ? "error" : "errors"}`;
  }
  if (!fatal) return `Sphinx failed with exit code ${exitCode}; see the log`;
  if (fatal.category === "Configuration error") {
    const syntax =
      /^There is a syntax error in your configuration file: (?<what>.*?) \((?:[^,()]+), line (?<line>\d+)\)$/.exec(
        fatal.detail,
      )?.groups;
    if (syntax) return `Sphinx failed: conf.py has a syntax error at line ${syntax.line}: ${syntax.what}`;
    if (fatal.message.startsWith("There is a programmable error in your configuration file"))
      return `Sphinx failed: conf.py has an error: ${fatal.detail}`;
    return `Sphinx failed: configuration error: ${fatal.detail}`;
  }
  if (fatal.category === "Exception occurred") return `Sphinx failed with an exception: ${fatal.detail}`;
  return `Sphinx failed: ${fatal.category.toLowerCase()}: ${fatal.detail}`;
}

/** The error that stopped Sphinx, where it points, or on line 1 of conf.py. */
/** At its place; a configuration error that names none at conf.py; any other error that names none without one. */
function fatalDiagnostic(fatal: SphinxFatalError, srcDir: string): Diagnostic {
  const file = fatal.file ?? (fatal.category === "Configuration error" ? posix.join(srcDir, "conf.py") : undefined);
  return {
    ...(file === undefined ? {} : { file, line: fatal.line ?? 1, column: 1 }),
    severity: "error",
    rule: "sphinx",
    message: `${fatal.category}: ${fatal.message}`,
    syntax: false,
  };
}

/**
 * Packs the HTML output into a tar.gz, in the sandbox (as the build's uid,
 * seeing only what the build may: a link Sphinx's conf.py left in the output
 * is packed as a link, and the archive cannot be written through one); returns
 * what went wrong, if anything.
 */
async function pack(outDir: string, archive: string, ctx: StepContext, timeoutMs: number): Promise<string | undefined> {
  const entries = (await readdir(outDir)).filter((name) => !name.startsWith(".")).sort();
  const args = ["-czf", archive, "-C", outDir, "--", ...entries];
  ctx.log.write(`$ tar -czf ${archive} -C ${outDir} ${entries.join(" ")}\n`);
  await rm(archive, { force: true });
  const r = await runInBuild(ctx, {
    cmd: "tar",
    args,
    cwd: ctx.scratchDir,
    env: sandboxEnv(ctx.scratchDir),
    timeoutMs,
    log: ctx.log,
  });
  const problem = cannotRun(r, "tar", ctx.timeoutMs);
  if (problem) return problem;
  if (r.exitCode !== 0) return `Could not package the HTML: tar exited with code ${r.exitCode}`;
  return undefined;
}

/** The build's sandbox, with the directories of the Sphinx found readable (bwrap shows only what it is told). */
function sphinxSandbox(sandbox: Sandbox, sphinx: Sphinx): Sandbox {
  return withReadable(sandbox, [...sphinx.prefixes, ...sphinx.sitePackages, dirname(sphinx.python)]);
}
