import { readFileSync } from "node:fs";
import { Ajv, type ErrorObject, type SchemaObject, type ValidateFunction } from "ajv";
import { PYCI_YML_SCHEMA } from "../package-files.js";
import { nearestWord } from "../text/nearest-word.js";

/**
 * What is wrong with a parsed `.github/pyci.yml` by its JSON Schema
 * (schema/pyci.schema.json, the one description of the file's shape), one
 * message per problem, each naming the key: "test.start_dir must be a
 * directory inside the repository, such as tests", "unknown key tests (did
 * you mean test?)". Empty when the file fits the schema.
 *
 * The words come from the schema where it has them (`errorMessage`, and
 * `patternErrorMessage` for a pattern: the keywords VS Code's JSON and YAML
 * support show too), else from the kind of value expected.
 */
export function repoConfigProblems(file: unknown): string[] {
  const { validate, schema } = compiled();
  if (validate(file)) return [];
  const errors = validate.errors ?? [];
  // anyOf and propertyNames say which value or name failed; the errors of their branches only why
  const summaries = errors.filter((e) => e.keyword === "anyOf" || e.keyword === "propertyNames");
  const shown = errors.filter((e) => !summaries.some((s) => e.schemaPath.startsWith(`${s.schemaPath}/`)));
  return [...new Set(shown.map((e) => problem(e, file, schema)))];
}

/** The schema, compiled at the first file read and kept. */
let validator: { validate: ValidateFunction; schema: SchemaObject } | undefined;

function compiled(): { validate: ValidateFunction; schema: SchemaObject } {
  if (validator) return validator;
  const schema = JSON.parse(readFileSync(PYCI_YML_SCHEMA, "utf8")) as SchemaObject;
  validator = { validate: repoConfigAjv().compile(schema), schema };
  return validator;
}

/**
 * The Ajv that understands pyci's schema: draft-07, strict (no keyword it does
 * not know), every error at once, each with its schema node; the editors'
 * message keywords are annotations.
 */
export function repoConfigAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, verbose: true, strict: true, allowUnionTypes: true });
  ajv.addVocabulary(["errorMessage", "patternErrorMessage"]);
  return ajv;
}

function problem(error: ErrorObject, file: unknown, schema: SchemaObject): string {
  const path = keyPath(error.instancePath, file);
  if (error.keyword === "additionalProperties") {
    const key = (error.params as { additionalProperty: string }).additionalProperty;
    return unknownKey(path, key, Object.keys(error.parentSchema?.properties ?? {}), schema);
  }
  if (error.keyword === "propertyNames") {
    const name = (error.params as { propertyName: string }).propertyName;
    const names = error.schema as SchemaObject;
    return `${path}: ${JSON.stringify(name)} ${names.patternErrorMessage ?? names.errorMessage ?? "is not a valid name"}`;
  }
  const node = error.parentSchema ?? {};
  const text = (error.keyword === "pattern" ? node.patternErrorMessage : undefined) ?? node.errorMessage;
  return `${path || "the file"} ${text ?? expected(error)}`;
}

/** What a value should have been, in the file's words, where the schema does not say. */
function expected(error: ErrorObject): string {
  if (error.keyword !== "type") return error.message ?? "is not valid";
  const type = (error.params as { type: string | string[] }).type;
  if (type === "object") return "must be a mapping";
  if (type === "boolean") return "must be true or false";
  if (type === "array") return "must be a list";
  return `must be ${[type].flat().join(" or ")}`;
}

/** `/docs/branches/0` → `docs.branches`: the keys of mappings, not the places in lists. */
function keyPath(pointer: string, file: unknown): string {
  const keys: string[] = [];
  let value = file;
  for (const step of pointer.split("/").slice(1)) {
    const key = step.replaceAll("~1", "/").replaceAll("~0", "~");
    if (!Array.isArray(value)) keys.push(key);
    value = (value as Record<string, unknown> | undefined)?.[key];
  }
  return keys.join(".");
}

/**
 * An unknown key with the nearest known one ("unknown key tests (did you mean
 * test?)"), else the known ones: a typo would otherwise be refused far from
 * what was meant. A section's key written at the top (`start_dir:`) is
 * suggested as `test.start_dir`.
 */
function unknownKey(where: string, key: string, known: string[], schema: SchemaObject): string {
  const name = where === "" ? key : `${where}.${key}`;
  const near = nearestWord(key, known);
  if (near) return `unknown key ${name} (did you mean ${where === "" ? near : `${where}.${near}`}?)`;
  const nested = where === "" ? sectionKey(key, schema) : undefined;
  if (nested) return `unknown key ${name} (did you mean ${nested}?)`;
  return `unknown key ${name} (${where === "" ? "the keys are" : `${where} has`} ${known.join(", ")})`;
}

/** `start_dir` → `test.start_dir`: the nearest key of a section (a mapping of known keys) of the file. */
function sectionKey(key: string, schema: SchemaObject): string | undefined {
  for (const [section, node] of Object.entries(schema.properties as Record<string, SchemaObject>)) {
    if (node.properties === undefined) continue;
    const near = nearestWord(key, Object.keys(node.properties));
    if (near) return `${section}.${near}`;
  }
  return undefined;
}
