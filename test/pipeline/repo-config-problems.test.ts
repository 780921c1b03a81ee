import { readFileSync } from "node:fs";
import { isDeepStrictEqual } from "node:util";
import type { SchemaObject } from "ajv";
import { describe, expect, it } from "vitest";
import { PYCI_YML_SCHEMA } from "../../src/package-files.js";
import { repoConfigAjv } from "../../src/pipeline/repo-config-problems.js";
import { defaultRepoConfig, parseRepoConfig, repoConfigKeys } from "../../src/pipeline/repo-config.js";

const schema = JSON.parse(readFileSync(PYCI_YML_SCHEMA, "utf8")) as SchemaObject;

/** Every key of the schema: its path in the file (`test.start_dir`) and its node. */
function schemaKeys(node: SchemaObject = schema, where: string[] = []): { path: string[]; node: SchemaObject }[] {
  return Object.entries((node.properties ?? {}) as Record<string, SchemaObject>).flatMap(([key, inner]) => [
    { path: [...where, key], node: inner },
    ...schemaKeys(inner, [...where, key]),
  ]);
}

/** A file that sets only `path` to `value`. */
function fileWith(path: string[], value: unknown): unknown {
  return path.reduceRight<unknown>((inner, key) => ({ [key]: inner }), value);
}

/** Every mapping of the schema, found by walking all its subschemas. */
function mappings(node: unknown): SchemaObject[] {
  if (typeof node !== "object" || node === null) return [];
  const found = Object.values(node).flatMap(mappings);
  return (node as SchemaObject).type === "object" ? [node as SchemaObject, ...found] : found;
}

describe("schema/pyci.schema.json", () => {
  it("is a draft-07 JSON Schema that ajv compiles in strict mode", () => {
    const ajv = repoConfigAjv();
    expect(ajv.opts.strict).toBe(true);
    expect(schema.$schema).toBe("http://json-schema.org/draft-07/schema#");
    expect(ajv.validateSchema(schema), JSON.stringify(ajv.errors)).toBe(true);
    expect(() => ajv.compile(schema)).not.toThrow();
  });

  it("refuses unknown keys in every mapping but env's variable names", () => {
    const closed = mappings(schema).filter((node) => node.properties !== undefined);
    expect(closed.length).toBeGreaterThan(3);
    for (const node of closed) expect(node.additionalProperties).toBe(false);
  });

  it("gives every key a title, a description and examples", () => {
    for (const { path, node } of schemaKeys()) {
      expect(node.title, path.join(".")).toEqual(expect.any(String));
      expect(node.description, path.join(".")).toEqual(expect.any(String));
      expect(node.examples, path.join(".")).toEqual(expect.arrayContaining([expect.anything()]));
    }
  });

  it("has the keys parseRepoConfig reads, and no other", () => {
    const leaves = schemaKeys()
      .filter(({ node }) => node.properties === undefined)
      .map(({ path }) => path.join("."));
    expect(leaves.sort()).toEqual(repoConfigKeys().sort());
  });

  it("has examples that parseRepoConfig accepts, for each key one that changes the defaults", () => {
    for (const example of schema.examples as unknown[]) expect(() => parseRepoConfig(example)).not.toThrow();
    const variable = schema.properties.env.additionalProperties as SchemaObject;
    for (const value of variable.examples as unknown[])
      expect(() => parseRepoConfig({ env: { X: value } })).not.toThrow();
    for (const { path, node } of schemaKeys()) {
      const configs = (node.examples as unknown[]).map((example) => parseRepoConfig(fileWith(path, example)));
      expect(
        configs.some((config) => !isDeepStrictEqual(config, defaultRepoConfig())),
        path.join("."),
      ).toBe(true);
    }
  });

  it("has defaults that are pyci's defaults", () => {
    const withDefault = schemaKeys().filter(({ node }) => node.default !== undefined);
    expect(withDefault.length).toBeGreaterThan(3);
    for (const { path, node } of withDefault) {
      expect(parseRepoConfig(fileWith(path, node.default)), path.join(".")).toEqual(defaultRepoConfig());
    }
  });
});

describe("parseRepoConfig's messages from the schema", () => {
  it.each([
    [{ test: { start_dir: 5 } }, "test.start_dir must be a directory inside the repository, such as tests"],
    [{ test: { top_level_dir: "a/../../b" } }, "test.top_level_dir must be a directory inside the repository"],
    [{ test: { pattern: ["test*.py"] } }, "test.pattern must be a file name pattern such as test*.py"],
    [{ check: "strict" }, "check must be a mapping"],
    [{ test: null }, "test must be a mapping"],
    [{ install: { pip: "install" } }, "install must be a command or a list of commands"],
    [{ docs: { install: ["pip install furo", "  "] } }, "docs.install must be a command or a list of commands"],
    [{ docs: { branches: ["main", ""] } }, "docs.branches must be a branch name or a list of them"],
    [{ docs: { warnings_as_errors: "yes" } }, "docs.warnings_as_errors must be true or false"],
    [{ python: 3.12 }, "python must name an interpreter on the server's PATH, such as python3.12"],
    [{ env: { A: "x".repeat(4097) } }, "env.A must be at most 4096 characters, without NUL"],
    [{ env: { A: "a\0b" } }, "env.A must be at most 4096 characters, without NUL"],
    [
      { env: Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`V${i}`, i])) },
      "env must be a mapping of at most 100 variables",
    ],
  ])("%#: %s", (raw, message) => {
    expect(() => parseRepoConfig(raw)).toThrow(message);
  });

  it("lists every problem of the file at once, in one message", () => {
    expect(() =>
      parseRepoConfig({ lint: true, test: { pattern: "a/b", start_dir: "../x" }, env: { "1A": 1 } }),
    ).toThrow(
      [
        "unknown key lint (the keys are check, test, install, runs_on, python, env, docs)",
        "test.start_dir must be a directory inside the repository, such as tests",
        "test.pattern must be a file name pattern such as test*.py",
        'env: "1A" is not a variable name (letters, digits and _)',
      ].join("; "),
    );
  });

  it("accepts the values at the limits", () => {
    const env = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`V${i}`, "x".repeat(4096)]));
    expect(Object.keys(parseRepoConfig({ env }).env ?? {})).toHaveLength(100);
    expect(parseRepoConfig({ test: { start_dir: "tests/..x", top_level_dir: "./src" } }).test).toMatchObject({
      startDir: "tests/..x",
      topLevelDir: "./src",
    });
  });
});
