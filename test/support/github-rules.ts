import type { SchemaIssue } from "./validate-schema.js";

export interface RuleResult {
  /** What GitHub answers 422 to although its OpenAPI description does not say so. */
  errors: SchemaIssue[];
  /** What GitHub accepts but gets wrong on the page (e.g. an annotation that attaches to no file). */
  lint: SchemaIssue[];
}

const STATUS_DESCRIPTION_MAX = 140;
const ANNOTATION_TITLE_MAX = 255;
const ANNOTATION_TEXT_MAX_BYTES = 64 * 1024;
const ACTIONS_ONLY_STATUSES = ["waiting", "requested", "pending"];

/**
 * GitHub's documented limits that the OpenAPI description leaves in prose ("maximum is 140
 * characters", "Required if you provide completed_at", …), keyed by operationId.
 */
export function githubRules(operationId: string, body: unknown): RuleResult {
  const result: RuleResult = { errors: [], lint: [] };
  if (typeof body !== "object" || body === null || Array.isArray(body)) return result;
  const b = body as Record<string, unknown>;
  switch (operationId) {
    case "repos/create-commit-status":
      commitStatus(b, result);
      break;
    case "checks/create":
      checkRun(b, result, "create");
      break;
    case "checks/update":
      checkRun(b, result, "update");
      break;
  }
  return result;
}

function commitStatus(b: Record<string, unknown>, r: RuleResult): void {
  if (typeof b.description === "string" && chars(b.description) > STATUS_DESCRIPTION_MAX) {
    r.errors.push({
      field: "description",
      message: `description is too long (maximum is ${STATUS_DESCRIPTION_MAX} characters; got ${chars(b.description)})`,
    });
  }
  if (typeof b.target_url === "string" && b.target_url !== "" && !isHttpUrl(b.target_url)) {
    r.lint.push({ field: "target_url", message: `target_url is not an http(s) URL: ${JSON.stringify(b.target_url)}` });
  }
  if (b.context === undefined) {
    r.lint.push({ field: "context", message: 'context is missing: GitHub files the status under "default"' });
  }
}

function checkRun(b: Record<string, unknown>, r: RuleResult, kind: "create" | "update"): void {
  const hasConclusion = b.conclusion !== undefined && b.conclusion !== null;
  if (!hasConclusion && (b.status === "completed" || (b.completed_at !== undefined && b.completed_at !== null))) {
    r.errors.push({
      field: "conclusion",
      message: "conclusion is required when status is completed or completed_at is given",
    });
  }
  if (b.conclusion === "stale") {
    r.errors.push({ field: "conclusion", message: "only GitHub can set the conclusion stale" });
  }
  if (kind === "update" && typeof b.status === "string" && ACTIONS_ONLY_STATUSES.includes(b.status)) {
    r.errors.push({ field: "status", message: `only GitHub Actions can set status ${b.status}` });
  }
  if (kind === "create" && typeof b.head_sha === "string" && !/^[0-9a-f]{40}$/.test(b.head_sha)) {
    r.lint.push({
      field: "head_sha",
      message: `head_sha is not a full 40-hex commit SHA: ${JSON.stringify(b.head_sha)}`,
    });
  }
  if (typeof b.details_url === "string" && !isHttpUrl(b.details_url)) {
    r.lint.push({
      field: "details_url",
      message: `details_url is not an http(s) URL: ${JSON.stringify(b.details_url)}`,
    });
  }
  const output = b.output;
  if (typeof output !== "object" || output === null) return;
  const o = output as Record<string, unknown>;
  if (kind === "update" && o.title === undefined) {
    r.errors.push({ field: "output.title", message: "output.title is required whenever output is given" });
  }
  if (Array.isArray(o.annotations)) o.annotations.forEach((a, i) => annotation(a, `output.annotations[${i}]`, r));
}

function annotation(a: unknown, field: string, r: RuleResult): void {
  if (typeof a !== "object" || a === null) return;
  const x = a as Record<string, unknown>;
  if (typeof x.title === "string" && chars(x.title) > ANNOTATION_TITLE_MAX) {
    r.errors.push({
      field: `${field}.title`,
      message: `title is too long (maximum is ${ANNOTATION_TITLE_MAX} characters)`,
    });
  }
  for (const key of ["message", "raw_details"]) {
    const v = x[key];
    if (typeof v === "string" && Buffer.byteLength(v) > ANNOTATION_TEXT_MAX_BYTES) {
      r.errors.push({ field: `${field}.${key}`, message: `${key} is larger than 64 KB` });
    }
  }
  const start = x.start_line;
  const end = x.end_line;
  if (typeof start === "number" && start < 1) {
    r.errors.push({ field: `${field}.start_line`, message: "start_line must be >= 1 (line numbers start at 1)" });
  }
  if (typeof start === "number" && typeof end === "number" && end < start) {
    r.errors.push({ field: `${field}.end_line`, message: `end_line ${end} is before start_line ${start}` });
  }
  if ((x.start_column !== undefined || x.end_column !== undefined) && start !== end) {
    r.errors.push({
      field: `${field}.start_column`,
      message: "start_column/end_column are only allowed when start_line equals end_line",
    });
  }
  if (typeof x.path === "string" && (x.path.startsWith("/") || x.path.startsWith("./") || x.path.includes("\\"))) {
    r.lint.push({
      field: `${field}.path`,
      message: `annotation path must be relative to the repository root with forward slashes: ${JSON.stringify(x.path)}`,
    });
  }
}

function chars(s: string): number {
  return [...s].length;
}

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return u.protocol === "http:" || u.protocol === "https:";
  } catch {
    return false;
  }
}
