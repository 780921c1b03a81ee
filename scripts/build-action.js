// Builds action/index.js, the committed bundle that `uses: <owner>/pyci@<ref>` runs (action.yml):
// `node scripts/build-action.js [outfile]` (`npm run build:action`); test/actions/action-bundle.test.ts
// fails when the committed file is not what this script makes of the sources.
//
// Everything is inlined from src/actions.ts down, so a job installs nothing but pyright, except:
// - better-sqlite3, a native addon, replaced by src/store/node-sqlite-database.ts (Node's node:sqlite);
// - pyright, which pyci runs as a process from its npm package: action/package.json pins it and
//   action.yml installs it beside the bundle (it is found from action/index.js as action/node_modules/pyright);
// - pyci's own data files (python/, schema/, known_hosts), found one level above the bundle
//   (src/package-files.ts), where they are in the repository the job checks out.
// The output is deterministic: no sourcemap, no timestamps, paths relative to the repository.
import { readFileSync } from "node:fs";
import { build } from "esbuild";

const OUTFILE = process.argv[2] ?? "action/index.js";
const ADAPTER = "./src/store/node-sqlite-database.ts";

const result = await build({
  entryPoints: ["src/actions.ts"],
  outfile: OUTFILE,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node22",
  // node_modules may be a symlink (a git worktree's): name files by the path the repository sees
  preserveSymlinks: true,
  legalComments: "eof",
  metafile: true,
  logLevel: "warning",
  alias: { "better-sqlite3": ADAPTER },
  // CommonJS packages inlined here call require() for Node's own modules
  banner: {
    js: 'import { createRequire as pyciCreateRequire } from "node:module";\nconst require = pyciCreateRequire(import.meta.url);',
  },
});

const inputs = Object.keys(result.metafile.inputs);
const native = inputs.filter((file) => file.includes("node_modules/better-sqlite3/") || file.endsWith(".node"));
if (native.length > 0) throw new Error(`${OUTFILE}: native code was bundled: ${native.join(", ")}`);
if (!inputs.includes(ADAPTER.slice(2))) throw new Error(`${OUTFILE}: better-sqlite3 was not replaced by ${ADAPTER}`);
const pyright = JSON.parse(readFileSync("node_modules/pyright/package.json", "utf8")).version;
const pinned = JSON.parse(readFileSync("action/package.json", "utf8")).dependencies.pyright;
if (pinned !== pyright)
  throw new Error(`action/package.json pins pyright ${pinned}; pyci is built with ${pyright}: make them agree`);
const bytes = Object.values(result.metafile.outputs)[0]?.bytes ?? 0;
process.stdout.write(`${OUTFILE}: ${(bytes / 1024 / 1024).toFixed(1)} MB from ${inputs.length} files\n`);
