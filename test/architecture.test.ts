import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * The layers of src/, low to high (docs/architecture.md): a module may import
 * its own folder and the folders below it, never one above, and no module
 * imports itself back through others.
 */
const LAYERS = [
  "model",
  "text",
  "package-files",
  "secrets",
  "process",
  "checkout",
  "config",
  "pipeline",
  "report",
  "store",
  "metrics",
  "github",
  "builds",
  "workers",
  "handlers",
  "actions",
  "http",
  "web",
  "doctor",
  "server-log",
  "index",
  "actions.ts",
  "server",
  "cli",
];

const SRC = join(process.cwd(), "src");
const IMPORT = /(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g;

function sources(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((name) => name.endsWith(".ts"))
    .map((name) => join(dir, name));
}

/** Each module's imports of other modules of src/ (paths relative to src/, .ts). */
function importGraph(files: string[], read: (file: string) => string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const from = relative(SRC, file);
    const targets = [...read(file).matchAll(IMPORT)].map((m) =>
      normalize(join(dirname(from), m[1]!)).replace(/\.js$/, ".ts"),
    );
    graph.set(from, targets);
  }
  return graph;
}

/** The layer of a module: its top folder, or its own name at the top of src/. */
function layer(module: string): string {
  const [top, ...rest] = module.split("/");
  if (rest.length > 0) return top!;
  return top === "actions.ts" ? "actions.ts" : top!.replace(/\.ts$/, "");
}

function upwardImports(graph: Map<string, string[]>): string[] {
  const rank = (module: string) => LAYERS.indexOf(layer(module));
  return [...graph].flatMap(([from, targets]) =>
    targets.filter((to) => rank(to) > rank(from)).map((to) => `${from} -> ${to}`),
  );
}

function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (module: string) => {
    state.set(module, "open");
    path.push(module);
    for (const next of graph.get(module) ?? []) {
      if (!graph.has(next)) continue;
      if (state.get(next) === "open") found.push([...path.slice(path.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    path.pop();
    state.set(module, "done");
  };
  for (const module of graph.keys()) if (!state.has(module)) visit(module);
  return found;
}

describe("the layers of src/", () => {
  const graph = importGraph(sources(SRC), (file) => readFileSync(file, "utf8"));

  it("knows every folder and top-level module of src/", () => {
    expect([...new Set([...graph.keys()].map(layer))].filter((name) => !LAYERS.includes(name))).toEqual([]);
  });

  it("has no import from a lower layer to a higher one", () => {
    expect(upwardImports(graph)).toEqual([]);
  });

  it("has no import cycle", () => {
    expect(cycles(graph)).toEqual([]);
  });

  it("finds an upward import and a cycle where there is one (the checks can fail)", () => {
    const bad = new Map([
      ["process/exec.ts", ["pipeline/types.ts"]],
      ["pipeline/types.ts", ["process/exec.ts"]],
    ]);
    expect(upwardImports(bad)).toEqual(["process/exec.ts -> pipeline/types.ts"]);
    expect(cycles(bad)).toEqual([["process/exec.ts", "pipeline/types.ts", "process/exec.ts"]]);
  });
});
