import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

/** The OpenAPI 3.0 documents that @octokit/openapi ships (its `generated/<name>.json`, not dereferenced). */
export type OpenApiSpecName = "api.github.com" | "ghec" | "ghes-3.17" | "ghes-3.18" | "ghes-3.19";

export type JsonSchema = Record<string, unknown>;

export interface OpenApiOperation {
  operationId: string;
  method: string;
  /** The path template, e.g. `/repos/{owner}/{repo}/statuses/{sha}`. */
  template: string;
  documentationUrl: string;
  /** The `application/json` request body schema, if the operation takes one. */
  requestSchema: JsonSchema | undefined;
  requestBodyRequired: boolean;
}

export interface OpenApiSpec {
  name: OpenApiSpecName;
  file: string;
  version: string;
  /** The whole document, for resolving `$ref`s. */
  document: Record<string, unknown>;
  operation(method: string, template: string): OpenApiOperation;
  /** The operation whose path template matches a concrete path (without the `/api/v3` prefix), if any. */
  match(method: string, path: string): OpenApiOperation | undefined;
}

const require = createRequire(import.meta.url);
const cache = new Map<OpenApiSpecName, OpenApiSpec>();

/** Loads (once per process; ~0.5 s for api.github.com) one of GitHub's OpenAPI descriptions. */
export function loadOpenApiSpec(name: OpenApiSpecName = "api.github.com"): OpenApiSpec {
  const cached = cache.get(name);
  if (cached) return cached;
  const file = require.resolve(`@octokit/openapi/generated/${name}.json`);
  const document = JSON.parse(readFileSync(file, "utf8")) as {
    info: { version: string };
    paths: Record<string, Record<string, Record<string, unknown>>>;
  };
  const matchers = Object.keys(document.paths).map((template) => ({
    template,
    regex: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\\?\{[^}]+\\?\}/g, "[^/]+")}$`),
  }));

  const operation = (method: string, template: string): OpenApiOperation => {
    const op = document.paths[template]?.[method.toLowerCase()];
    if (!op) throw new Error(`${name} has no operation ${method.toUpperCase()} ${template}`);
    const requestBody = op.requestBody as
      | { required?: boolean; content?: Record<string, { schema?: JsonSchema }> }
      | undefined;
    return {
      operationId: String(op.operationId),
      method: method.toUpperCase(),
      template,
      documentationUrl: String(
        (op.externalDocs as { url?: string } | undefined)?.url ?? "https://docs.github.com/rest",
      ),
      requestSchema: requestBody?.content?.["application/json"]?.schema,
      requestBodyRequired: requestBody?.required === true,
    };
  };

  const spec: OpenApiSpec = {
    name,
    file,
    version: document.info.version,
    document,
    operation,
    match(method, path) {
      const m = method.toLowerCase();
      // Prefer literal segments: `/repos/{owner}/{repo}/check-runs` over `/repos/{owner}/{repo}/{anything}`.
      const candidates = matchers
        .filter(({ template, regex }) => regex.test(path) && document.paths[template]?.[m])
        .sort((a, b) => literalLength(b.template) - literalLength(a.template));
      const best = candidates[0];
      return best ? operation(m, best.template) : undefined;
    },
  };
  cache.set(name, spec);
  return spec;
}

function literalLength(template: string): number {
  return template.replace(/\{[^}]+\}/g, "").length;
}
