/**
 * The projects the benchmark builds, as { path: text } maps for makeRepo (test/support/git-repo.ts).
 *
 * - `pythonProject`: a real-sized project, `inventory/` with MODULES typed modules (dataclasses,
 *   generics, Protocols, imports between modules) and `tests/` with TESTS_PER_MODULE unittest tests per
 *   module — about what a small service keeps in one repository. Type-clean, every test passes.
 * - `testHeavyProject`: a project shaped like the real ones whose tests take most of a build (as
 *   more-itertools' 901 tests take 32 s and pyright 11 s): TEST_HEAVY_MODULES of those modules and
 *   tests, plus `waitingSuite`, whose tests wait (a database, a subprocess) and compute a little.
 * - `tinyProject`: one module and one test: the "cheap build" of the footprint and time-to-pending figures.
 * - `docsProject`: the tiny project plus a small Sphinx site, for the docs re-run figure.
 *
 * `variant` is written into a comment of one module, so that each variant is a distinct git tree
 * (a never-seen tree for pyci's result cache) with the same work in it.
 *
 * `projectHistory`: the changes that lead up to `pythonProject` in the benchmark's repositories
 * (bench/import-history.ts writes them with `git fast-import` and packs the result, as a hosted
 * repository is packed): HISTORY_COMMITS commits, each rewriting a few modules with a changelog of
 * generated lines, so that the repository has a history some times the size of its last tree, as a
 * project that has been worked on for a while does. What a build fetches is still only the last
 * tree (pyci fetches the commit at depth 1); a hand `git clone` fetches all of it.
 */

export const MODULES = 50;
export const HISTORY_COMMITS = 500;
export const TESTS_PER_MODULE = 10;

export function pythonProject(variant: string, modules = MODULES): Record<string, string> {
  const files: Record<string, string> = {
    "README.md": "# inventory\n\nA generated project for pyci's benchmark.\n",
    "inventory/__init__.py": `"""Generated inventory package (${variant})."""\n`,
    "tests/__init__.py": "",
  };
  for (let i = 0; i < modules; i++) {
    files[`inventory/${moduleName(i)}.py`] = moduleSource(i, i === 0 ? variant : undefined);
    files[`tests/test_${moduleName(i)}.py`] = testSource(i);
  }
  return files;
}

/** Modules of `testHeavyProject`'s package (pyright's share of its build). */
export const TEST_HEAVY_MODULES = 12;

export function testHeavyProject(variant: string): Record<string, string> {
  return { ...pythonProject(variant, TEST_HEAVY_MODULES), ...waitingSuite(WAITING_MODULES) };
}

/** Test modules of `waitingSuite` in testHeavyProject and the parallel test step's figure. */
export const WAITING_MODULES = 24;

/**
 * `modules` test modules of uneven size (module i holds 2 + i % 5 tests), each test waiting 60–140 ms
 * (a database, a subprocess) and hashing for a while: a suite whose time is mostly waiting, as many
 * real projects' are. Every test passes.
 */
export function waitingSuite(modules: number): Record<string, string> {
  const files: Record<string, string> = { "tests/__init__.py": "" };
  for (let i = 0; i < modules; i++) {
    const tests = Array.from({ length: waitingTestsIn(i) }, (_, j) =>
      [
        `    def test_case_${j}(self):`,
        `        time.sleep(${(60 + ((i * 7 + j * 13) % 5) * 20) / 1000})`,
        `        digest = hashlib.sha256(b"${i}-${j}")`,
        "        for _ in range(3000):",
        "            digest = hashlib.sha256(digest.digest())",
        "        self.assertEqual(len(digest.hexdigest()), 64)",
      ].join("\n"),
    );
    files[`tests/test_module_${i}.py`] =
      `import hashlib\nimport time\nimport unittest\n\n\nclass Module${i}Test(unittest.TestCase):\n${tests.join("\n\n")}\n`;
  }
  return files;
}

/** The tests waitingSuite(modules) holds. */
export function waitingTests(modules: number): number {
  return Array.from({ length: modules }, (_, i) => waitingTestsIn(i)).reduce((a, b) => a + b, 0);
}

function waitingTestsIn(i: number): number {
  return 2 + (i % 5);
}

export function tinyProject(): Record<string, string> {
  return {
    "calc.py": "def add(a: int, b: int) -> int:\n    return a + b\n",
    "test_calc.py": [
      "import unittest",
      "",
      "from calc import add",
      "",
      "",
      "class AddTest(unittest.TestCase):",
      "    def test_adds(self) -> None:",
      "        self.assertEqual(add(2, 3), 5)",
      "",
    ].join("\n"),
  };
}

export function docsProject(): Record<string, string> {
  const pages = ["install", "usage", "api"];
  return {
    ...tinyProject(),
    "docs/conf.py": "project = 'calc'\nextensions: list[str] = []\n",
    "docs/index.rst": `Calc\n====\n\n.. toctree::\n\n${pages.map((p) => `   ${p}`).join("\n")}\n`,
    ...Object.fromEntries(
      pages.map((p) => [
        `docs/${p}.rst`,
        `${p[0]!.toUpperCase()}${p.slice(1)}\n${"=".repeat(p.length)}\n\n${"Call ``add`` to add two numbers. ".repeat(20)}\n`,
      ]),
    ),
  };
}

/** A one-line change to module `index` (a comment): a new tree that pyci has not seen. */
export function touchedModule(index: number, note: string): Record<string, string> {
  return { [`inventory/${moduleName(index)}.py`]: moduleSource(index, note) };
}

/**
 * `commits` sets of changed files, oldest first, over the modules of `pythonProject`: commit k rewrites
 * three modules (chosen by k), each with a changelog of generated lines that differs from commit to
 * commit. Deterministic: the same arguments give the same history.
 */
export function projectHistory(commits: number): Record<string, string>[] {
  const history: Record<string, string>[] = [];
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648);
  for (let k = 0; k < commits; k++) {
    const changed: Record<string, string> = {};
    for (let j = 0; j < 3; j++) {
      const i = next() % MODULES;
      const changelog = Array.from(
        { length: 30 + (next() % 60) },
        (_, n) =>
          `# change ${k}.${n}: ${WORDS[next() % WORDS.length]} ${WORDS[next() % WORDS.length]} ${next().toString(36)}`,
      );
      changed[`inventory/${moduleName(i)}.py`] = `${changelog.join("\n")}\n${moduleSource(i, `history ${k}`)}`;
    }
    history.push(changed);
  }
  return history;
}

const WORDS = [
  "restock",
  "price",
  "shelf",
  "section",
  "report",
  "parse",
  "tag",
  "quantity",
  "sku",
  "total",
  "cheapest",
  "fix",
  "refactor",
  "typing",
];

function moduleName(i: number): string {
  return `mod_${String(i).padStart(3, "0")}`;
}

function moduleSource(i: number, note?: string): string {
  const cls = `Item${i}`;
  const dep = i > 0 ? moduleName(i - 1) : undefined;
  const lines = [
    `"""Stock keeping for warehouse section ${i}."""`,
    ...(note !== undefined ? [`# variant: ${note}`] : []),
    "",
    "from __future__ import annotations",
    "",
    "from dataclasses import dataclass, field",
    "from typing import Generic, Iterable, Iterator, Protocol, TypeVar",
    "",
    ...(dep ? [`from inventory.${dep} import Item${i - 1}, total_value as previous_total`, ""] : []),
    'T = TypeVar("T")',
    "",
    "",
    "class Priced(Protocol):",
    "    @property",
    "    def price(self) -> float: ...",
    "",
    "",
    "@dataclass(frozen=True)",
    `class ${cls}:`,
    "    sku: str",
    "    price: float",
    "    quantity: int = 0",
    "    tags: tuple[str, ...] = ()",
    "",
    "    def value(self) -> float:",
    "        return self.price * self.quantity",
    "",
    `    def restocked(self, amount: int) -> ${cls}:`,
    "        if amount < 0:",
    '            raise ValueError("amount must not be negative")',
    `        return ${cls}(self.sku, self.price, self.quantity + amount, self.tags)`,
    "",
    "    def tagged(self, tag: str) -> bool:",
    "        return tag in self.tags",
    "",
    "",
    "@dataclass",
    "class Shelf(Generic[T]):",
    "    label: str",
    "    items: list[T] = field(default_factory=list)",
    "",
    "    def put(self, item: T) -> None:",
    "        self.items.append(item)",
    "",
    "    def take(self) -> T | None:",
    "        return self.items.pop() if self.items else None",
    "",
    "    def __iter__(self) -> Iterator[T]:",
    "        return iter(self.items)",
    "",
    "    def __len__(self) -> int:",
    "        return len(self.items)",
    "",
    "",
    "def total_value(items: Iterable[Priced], quantities: dict[str, int] | None = None) -> float:",
    "    total = 0.0",
    "    for item in items:",
    "        total += item.price",
    "    if quantities:",
    "        total *= max(1, sum(quantities.values()))",
    "    return round(total, 2)",
    "",
    "",
    `def cheapest(items: Iterable[${cls}]) -> ${cls} | None:`,
    `    best: ${cls} | None = None`,
    "    for item in items:",
    "        if best is None or item.price < best.price:",
    "            best = item",
    "    return best",
    "",
    "",
    `def by_tag(items: Iterable[${cls}]) -> dict[str, list[${cls}]]:`,
    `    groups: dict[str, list[${cls}]] = {}`,
    "    for item in items:",
    "        for tag in item.tags:",
    "            groups.setdefault(tag, []).append(item)",
    "    return groups",
    "",
    "",
    `def parse_line(line: str) -> ${cls}:`,
    '    sku, price, quantity, *tags = [part.strip() for part in line.split(",")]',
    `    return ${cls}(sku, float(price), int(quantity), tuple(tags))`,
    "",
    "",
    `def section_report(items: list[${cls}]) -> str:`,
    `    lines = [f"section ${i}: {len(items)} items"]`,
    "    for item in sorted(items, key=lambda it: it.sku):",
    '        lines.append(f"  {item.sku:<10} {item.quantity:>5} x {item.price:8.2f} = {item.value():10.2f}")',
    '    return "\\n".join(lines)',
    "",
  ];
  if (dep) {
    lines.push(
      "",
      `def with_previous(items: list[${cls}], previous: list[Item${i - 1}]) -> float:`,
      "    return total_value(items) + previous_total(previous)",
      "",
    );
  }
  return lines.join("\n");
}

function testSource(i: number): string {
  const name = moduleName(i);
  const cls = `Item${i}`;
  const tests = [
    ["value", `self.assertEqual(${cls}("a", 2.5, 4).value(), 10.0)`],
    ["restock", `self.assertEqual(${cls}("a", 1.0, 1).restocked(2).quantity, 3)`],
    ["restock_negative", `self.assertRaises(ValueError, ${cls}("a", 1.0).restocked, -1)`],
    ["tagged", `self.assertTrue(${cls}("a", 1.0, tags=("x",)).tagged("x"))`],
    [
      "shelf",
      `shelf: Shelf[int] = Shelf("s")\n        shelf.put(${i})\n        self.assertEqual((len(shelf), shelf.take(), shelf.take()), (1, ${i}, None))`,
    ],
    ["total", `self.assertEqual(total_value([${cls}("a", 1.25), ${cls}("b", 2.5)]), 3.75)`],
    ["cheapest", `self.assertEqual(cheapest([${cls}("a", 3.0), ${cls}("b", 1.0)]), ${cls}("b", 1.0))`],
    ["by_tag", `self.assertEqual(sorted(by_tag([${cls}("a", 1.0, tags=("x", "y"))])), ["x", "y"])`],
    ["parse", `self.assertEqual(parse_line("s1, 2.0, 3, red"), ${cls}("s1", 2.0, 3, ("red",)))`],
    ["report", `self.assertIn("section ${i}: 1 items", section_report([${cls}("a", 1.0, 1)]))`],
  ].slice(0, TESTS_PER_MODULE);
  return [
    "import unittest",
    "",
    `from inventory.${name} import ${cls}, Shelf, by_tag, cheapest, parse_line, section_report, total_value`,
    "",
    "",
    `class ${cls}Test(unittest.TestCase):`,
    ...tests.flatMap(([test, body]) => [`    def test_${test}(self) -> None:`, `        ${body}`, ""]),
  ].join("\n");
}
