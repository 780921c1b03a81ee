import type { JsonSchema } from "./openapi-spec.js";

export interface SchemaIssue {
  /** Dotted path into the body, e.g. `output.annotations[3].annotation_level`; "" for the body itself. */
  field: string;
  message: string;
}

export interface SchemaResult {
  /** What GitHub rejects with 422. */
  errors: SchemaIssue[];
  /** Properties the schema does not know: GitHub ignores them silently, which usually hides a typo. */
  unknown: SchemaIssue[];
}

const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * Validates a value against the subset of OpenAPI 3.0 schema keywords that GitHub's description uses:
 * $ref, type, nullable, enum, required, properties, additionalProperties, items, min/maxItems,
 * min/maxLength (in characters, as GitHub counts them), pattern, minimum/maximum, format date-time,
 * allOf/anyOf/oneOf.
 */
export function validateSchema(schema: JsonSchema, value: unknown, document: Record<string, unknown>): SchemaResult {
  const result: SchemaResult = { errors: [], unknown: [] };
  check(schema, value, "", document, result);
  return result;
}

function check(
  schema: JsonSchema,
  value: unknown,
  field: string,
  document: Record<string, unknown>,
  out: SchemaResult,
): void {
  const s = resolve(schema, document);
  const fail = (message: string) => out.errors.push({ field, message });

  if (value === null) {
    if (s.nullable === true || s.type === undefined) return;
    fail(`${show(field)} must be a ${String(s.type)}, not null`);
    return;
  }

  for (const sub of (s.allOf as JsonSchema[] | undefined) ?? []) check(sub, value, field, document, out);
  if (Array.isArray(s.anyOf) || Array.isArray(s.oneOf)) {
    const keyword = Array.isArray(s.anyOf) ? "anyOf" : "oneOf";
    const branches = (s[keyword] as JsonSchema[]).map((sub) => {
      const r: SchemaResult = { errors: [], unknown: [] };
      check(sub, value, field, document, r);
      return r.errors;
    });
    const matched = branches.filter((errors) => errors.length === 0).length;
    if (keyword === "anyOf" ? matched === 0 : matched !== 1) {
      const why = branches.map((errors, i) => `#${i}: ${errors.map((e) => e.message).join("; ")}`).join(" | ");
      fail(`${show(field)} matches ${matched} of the ${keyword} subschemas (${why})`);
    }
  }

  if (s.type !== undefined && !hasType(value, String(s.type))) {
    fail(`${show(field)} must be of type ${String(s.type)}, got ${JSON.stringify(value)}`);
    return;
  }
  if (Array.isArray(s.enum) && !s.enum.includes(value)) {
    fail(`${JSON.stringify(value)} is not a member of ${JSON.stringify(s.enum)} (${show(field)})`);
  }

  if (typeof value === "string") checkString(s, value, field, fail);
  if (typeof value === "number") {
    if (typeof s.minimum === "number" && value < s.minimum) fail(`${show(field)} must be >= ${s.minimum}`);
    if (typeof s.maximum === "number" && value > s.maximum) fail(`${show(field)} must be <= ${s.maximum}`);
  }
  if (Array.isArray(value)) {
    if (typeof s.maxItems === "number" && value.length > s.maxItems) {
      fail(`${show(field)} has ${value.length} items, more than the maximum of ${s.maxItems}`);
    }
    if (typeof s.minItems === "number" && value.length < s.minItems) {
      fail(`${show(field)} has ${value.length} items, fewer than the minimum of ${s.minItems}`);
    }
    if (s.items) value.forEach((item, i) => check(s.items as JsonSchema, item, `${field}[${i}]`, document, out));
  }
  if (isObject(value)) checkObject(s, value, field, document, out, fail);
}

function checkString(s: JsonSchema, value: string, field: string, fail: (message: string) => void): void {
  const length = [...value].length;
  if (typeof s.maxLength === "number" && length > s.maxLength) {
    fail(`${show(field)} is too long (${length} characters; maximum is ${s.maxLength})`);
  }
  if (typeof s.minLength === "number" && length < s.minLength) {
    fail(`${show(field)} is too short (${length} characters; minimum is ${s.minLength})`);
  }
  if (typeof s.pattern === "string" && !new RegExp(s.pattern, "u").test(value)) {
    fail(`${show(field)} does not match ${s.pattern}`);
  }
  if (s.format === "date-time" && (!DATE_TIME.test(value) || Number.isNaN(Date.parse(value)))) {
    fail(`${show(field)} must be an ISO 8601 timestamp (YYYY-MM-DDTHH:MM:SSZ), got ${JSON.stringify(value)}`);
  }
}

function checkObject(
  s: JsonSchema,
  value: Record<string, unknown>,
  field: string,
  document: Record<string, unknown>,
  out: SchemaResult,
  fail: (message: string) => void,
): void {
  const properties = (s.properties as Record<string, JsonSchema> | undefined) ?? {};
  for (const name of (s.required as string[] | undefined) ?? []) {
    if (!(name in value) || value[name] === undefined) fail(`${show(join(field, name))} is required`);
  }
  const known = knownProperties(s, document);
  for (const [name, v] of Object.entries(value)) {
    const sub = properties[name];
    if (sub) {
      check(sub, v, join(field, name), document, out);
    } else if (s.additionalProperties === false) {
      fail(`${show(join(field, name))} is not a permitted key`);
    } else if (isObject(s.additionalProperties)) {
      check(s.additionalProperties, v, join(field, name), document, out);
    } else if (s.properties !== undefined && s.additionalProperties === undefined && !known.has(name)) {
      out.unknown.push({ field: join(field, name), message: `${show(join(field, name))} is not in the schema` });
    }
  }
}

/** Property names declared by the schema or any of its allOf/anyOf/oneOf branches. */
function knownProperties(s: JsonSchema, document: Record<string, unknown>): Set<string> {
  const names = new Set(Object.keys((s.properties as object | undefined) ?? {}));
  for (const keyword of ["allOf", "anyOf", "oneOf"]) {
    for (const sub of (s[keyword] as JsonSchema[] | undefined) ?? []) {
      for (const name of knownProperties(resolve(sub, document), document)) names.add(name);
    }
  }
  return names;
}

function resolve(schema: JsonSchema, document: Record<string, unknown>): JsonSchema {
  let s = schema;
  for (let depth = 0; typeof s.$ref === "string"; depth++) {
    if (depth > 20) throw new Error(`$ref loop at ${s.$ref}`);
    const ref = s.$ref as string;
    if (!ref.startsWith("#/")) throw new Error(`unsupported $ref ${ref}`);
    let target: unknown = document;
    for (const part of ref.slice(2).split("/")) {
      target = (target as Record<string, unknown> | undefined)?.[part.replace(/~1/g, "/").replace(/~0/g, "~")];
    }
    if (!isObject(target)) throw new Error(`unresolvable $ref ${ref}`);
    s = target;
  }
  return s;
}

function hasType(value: unknown, type: string): boolean {
  switch (type) {
    case "string":
      return typeof value === "string";
    case "integer":
      return Number.isInteger(value);
    case "number":
      return typeof value === "number" && Number.isFinite(value);
    case "boolean":
      return typeof value === "boolean";
    case "array":
      return Array.isArray(value);
    case "object":
      return isObject(value);
    default:
      return true;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function join(field: string, name: string): string {
  return field ? `${field}.${name}` : name;
}

function show(field: string): string {
  return field ? `'${field}'` : "the body";
}
