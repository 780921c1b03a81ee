import { describe, expect, it } from "vitest";
import { pyprojectConfiguresPyright } from "../../../src/pipeline/parsers/pyproject-configures-pyright.js";

describe("pyprojectConfiguresPyright", () => {
  it.each([
    ["a [tool.pyright] table", '[project]\nname = "x"\n\n[tool.pyright]\ntypeCheckingMode = "strict"\n'],
    ["an empty [tool.pyright] table at the end", "[tool.black]\nline-length = 100\n[tool.pyright]"],
    ["a sub-table only", "[tool.pyright.defineConstant]\nDEBUG = true\n"],
    ["an array of tables", '[[tool.pyright.executionEnvironments]]\nroot = "src"\n'],
    ["spaces and quotes in the header", '[ tool . "pyright" ]\n'],
    ["a literal-string key and a comment", "[tool.'pyright'] # type checking\n"],
    ["an escaped quoted key", '[tool."py\\u0072ight"]\n'],
    ["a dotted key under [tool]", '[tool]\npyright.typeCheckingMode = "basic"\n'],
    ["an inline table under [tool]", '[tool]\npyright = { include = ["src"] }\n'],
    ["a dotted key at the top level", 'tool.pyright.include = ["src"]\n'],
    ["CRLF line endings", '[project]\r\nname = "x"\r\n[tool.pyright]\r\n'],
    ["an inline table at the top level", 'tool = { pyright = { include = ["src"] } }\n'],
  ])("finds %s", (_, toml) => {
    expect(pyprojectConfiguresPyright(toml)).toBe(true);
  });

  it.each([
    ["no pyright at all", '[project]\nname = "x"\n[tool.black]\nline-length = 100\n'],
    ["a commented-out table", "# [tool.pyright]\n[tool.mypy]\nstrict = true\n"],
    ["a header inside a multi-line string", '[project]\ndescription = """\n[tool.pyright]\n"""\n'],
    ["a header inside a multi-line literal string", "[project]\nreadme = '''\n[tool.pyright]\n'''\n"],
    [
      "a header inside a multi-line array of strings",
      "[project]\nkeywords = [\n  \"[tool.pyright]\",\n  '[tool.pyright]',\n]\n",
    ],
    ["a similarly named tool", "[tool.basedpyright]\n[tool.pyright-plugin]\n"],
    ["pyright nested below another tool", "[tool.hatch.pyright]\n"],
    ["a pyright key outside [tool]", '[project]\npyright = "1.1"\n'],
    ["an empty file", ""],
    ["[tool] as an array of tables", "[[tool]]\npyright = 1\n"],
    // pyright parses pyproject.toml with smol-toml too: it reports a configuration error and ignores the file
    ["a file that is not TOML", '[project\nname = "x"\n[tool.pyright]\ntypeCheckingMode = "strict"\n'],
    ["a table defined twice", "[tool.pyright]\n[tool.pyright]\n"],
  ])("does not take %s for pyright's configuration", (_, toml) => {
    expect(pyprojectConfiguresPyright(toml)).toBe(false);
  });

  it("reads on after a multi-line string that ends in extra quotes", () => {
    expect(pyprojectConfiguresPyright('[project]\ndescription = """says "hi""""\n[tool.pyright]\n')).toBe(true);
  });
});
