import { parse } from "smol-toml";

/**
 * Whether a pyproject.toml configures pyright: whether it has a `tool.pyright`
 * entry, however the TOML spells it (a `[tool.pyright]` table, a sub-table or
 * array of tables below it, a dotted key, an inline table). Read with
 * smol-toml, the parser pyright itself reads pyproject.toml with: a file it
 * cannot parse configures nothing (pyright then reports a configuration error
 * and ignores the file).
 */
export function pyprojectConfiguresPyright(toml: string): boolean {
  let document: Record<string, unknown>;
  try {
    document = parse(toml);
  } catch {
    return false;
  }
  const tool = document.tool;
  return typeof tool === "object" && tool !== null && !Array.isArray(tool) && Object.hasOwn(tool, "pyright");
}
