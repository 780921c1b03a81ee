"""Python's own compiler as a cross-check of pyright's syntax errors.

Usage: python pyci_syntax.py ROOT

Compiles every .py file under ROOT with this interpreter, exactly as an
import would (parser, then symbol table: "'return' outside function",
"cannot assign to __debug__", "annotated name 'x' can't be global"), and
prints on stdout a JSON object: the interpreter's version and one entry per
file that does not compile:

    {"python": "3.11.7",
     "errors": [{"file": "pkg/mod.py", "line": 3, "column": 5, "message": "invalid syntax"}]}

file is relative to ROOT with forward slashes; line and column are 1-based.
Python stops at a file's first error, so there is at most one entry a file.
Exit code 0 whatever it finds; anything else means the helper itself failed.

Skipped: .git, hidden directories, node_modules, __pycache__, site-packages
and dist-packages, virtual environments (a directory holding pyvenv.cfg or
conda-meta) and symbolic links (a link may point outside the checkout or at
a device). Nothing else is honoured: a syntax error anywhere in the
repository fails the check, whatever pyright's configuration excludes.

Standard library only, and no syntax newer than Python 3.6: it runs with the
interpreter that runs the repository's tests.
"""

import json
import os
import sys
import warnings

SKIPPED_DIRS = {"node_modules", "__pycache__", "site-packages", "dist-packages"}
ENVIRONMENT_MARKERS = ("pyvenv.cfg", "conda-meta")


def is_skipped_dir(path, name):
    if name.startswith(".") or name in SKIPPED_DIRS:
        return True
    if os.path.islink(path):
        return True
    return any(os.path.exists(os.path.join(path, marker)) for marker in ENVIRONMENT_MARKERS)


def python_files(root):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not is_skipped_dir(os.path.join(dirpath, d), d))
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            if name.endswith(".py") and not os.path.islink(path) and os.path.isfile(path):
                yield path


def relative(path, root):
    return os.path.relpath(path, root).replace(os.sep, "/")


def compile_error(path):
    """The file's syntax error as (line, column, message), or None when it compiles."""
    with open(path, "rb") as handle:
        source = handle.read()
    try:
        # Bytes, so that the coding cookie and BOM are honoured and a file
        # that is not valid in its encoding is the SyntaxError Python raises.
        compile(source, path, "exec", dont_inherit=True)
    except SyntaxError as err:  # IndentationError and TabError included
        return (err.lineno or 1, max(err.offset or 1, 1), err.msg or type(err).__name__)
    except ValueError as err:  # null bytes, before Python 3.12
        return (1, 1, str(err))
    return None


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: pyci_syntax.py ROOT\n")
        return 2
    root = os.path.abspath(argv[1])
    # SyntaxWarnings (invalid escape sequences, "is" with a literal) are not
    # errors; left on, they would only clutter the log.
    warnings.simplefilter("ignore")
    found = []
    for path in python_files(root):
        try:
            error = compile_error(path)
        except (OSError, RecursionError, MemoryError) as err:
            sys.stderr.write("pyci_syntax: could not compile %s: %s\n" % (relative(path, root), err))
            continue
        if error is not None:
            line, column, message = error
            found.append({"file": relative(path, root), "line": line, "column": column, "message": message})
    version = "%d.%d.%d" % tuple(sys.version_info[:3])
    json.dump({"python": version, "errors": found}, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
