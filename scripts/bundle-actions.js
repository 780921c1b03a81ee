// Bundles @probot/adapter-github-actions into dist/actions.js (run by `npm run build`, after tsc).
//
// The adapter (4.0.3, the newest) declares probot ^13; pyci runs on probot 14. npm applies
// package.json "overrides" only at the root of a project, so an installed pyci that depended on
// the adapter would get a second, nested probot 13 (with its own Octokit, @sentry and
// @opentelemetry). Instead the adapter is a devDependency, inlined here with what only it needs
// (@actions/core, through2); every package pyci declares in "dependencies" (probot, pino, …) stays
// an import, resolved at run time to pyci's own copy, and so do pyci's own modules (./…), which
// stay the files tsc wrote beside this one. The installed tree has one probot: pyci's.
import { readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { build } from "esbuild";

const ENTRY = "dist/actions.js";
const BANNER = 'import { createRequire as pyciCreateRequire } from "node:module";';
if (readFileSync(ENTRY, "utf8").includes(BANNER)) throw new Error(`${ENTRY} is bundled already: run \`npm run build\``);
const pkg = JSON.parse(readFileSync("package.json", "utf8"));
const installed = new Set([...Object.keys(pkg.dependencies), ...builtinModules]);

/** "probot/lib/x.js" → "probot", "@actions/core" → "@actions/core", "node:fs" → "fs". */
function packageName(specifier) {
  const parts = specifier.replace(/^node:/, "").split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

/** @type {import("esbuild").Plugin} */
const keepInstalledImports = {
  name: "keep-installed-imports",
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) => {
      if (args.kind === "entry-point") return undefined;
      if (args.path.startsWith(".") && args.importer.endsWith(ENTRY)) return { path: args.path, external: true };
      if (!args.path.startsWith(".") && installed.has(packageName(args.path)))
        return { path: args.path, external: true };
      return undefined;
    });
  },
};

const result = await build({
  entryPoints: [ENTRY],
  outfile: ENTRY,
  allowOverwrite: true,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: true,
  metafile: true,
  logLevel: "warning",
  // @actions/core and through2 are CommonJS: their require() of Node's modules needs a require
  banner: {
    js: `${BANNER}\nconst require = pyciCreateRequire(import.meta.url);`,
  },
  plugins: [keepInstalledImports],
});

const inlined = new Set(
  Object.keys(result.metafile.inputs)
    .filter((file) => file.includes("node_modules/"))
    .map((file) => packageName(file.slice(file.lastIndexOf("node_modules/") + "node_modules/".length))),
);
if (!inlined.has("@probot/adapter-github-actions")) throw new Error(`${ENTRY}: the adapter was not inlined`);
process.stdout.write(`${ENTRY}: inlined ${[...inlined].sort().join(", ")}\n`);
