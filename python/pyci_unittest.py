"""pyci's unittest runner: `python -m unittest` discovery plus structured results.

Usage (cwd = repository root):

    python pyci_unittest.py --results RESULTS.json [--start-dir DIR]
                            [--pattern PAT] [--top-level-dir DIR]
                            [--shard K/N [--weights WEIGHTS.json] | --only IDS.json]

Discovery uses the same defaults as `python -m unittest` (start dir ".",
pattern "test*.py", top-level dir = start dir). The console shows what
`python -m unittest -v` shows; stderr is merged into stdout so the log keeps
the order in which things happened. --shard K/N runs the K-th of N shares of
the discovered tests (WEIGHTS.json: {test id: milliseconds} of an earlier
build), --only the tests whose ids IDS.json lists (pyci_selection.py says
how). RESULTS.json receives

    {"tests": [{"id", "outcome", "duration_ms", "subtest"?, "module"?,
                "message"?, "traceback"?, "file"?, "line"?}],
     "load_errors": n, "selection"?: {"selected", "tests"?, "units"?, "fingerprint"?},
     "counts": {"run", "failures", "errors", "skipped", "expected_failures",
                "unexpected_successes"}}

with one entry per outcome unittest reports, in the order it reports them:
outcome one of pass, fail, error, skip, expected_failure,
unexpected_success. A failing, erroring or skipped subtest is an entry of
its own, with "subtest" its parameters as unittest prints them ("(i=1)"),
so a test with two failing subtests is two failures, as unittest counts
them; duration_ms is that of the whole test. "module" is the module the
test was loaded from when the id does not start with it (a base class
imported into another test module runs there again under the same id).
file/line is the innermost traceback frame inside the repository
(relative path, forward slashes). "counts" are unittest's own figures:
testsRun and the lengths of its failures, errors, skipped,
expectedFailures and unexpectedSuccesses lists, what its summary line says.

Exit codes: 0 all tests passed, 1 some did not, 5 no tests were found,
2 usage or internal error (RESULTS.json is then not written).

Standard library only; Python 3.8+.
"""

import argparse
import json
import os
import re
import sys
import sysconfig
import time
import traceback
import unittest
import unittest.case
import unittest.loader


def load_selection():
    """pyci_selection.py beside this file, under a name no repository uses
    (the repository's own modules come first on sys.path once main runs)."""
    import importlib.util

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pyci_selection.py")
    spec = importlib.util.spec_from_file_location("_pyci_selection", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


selection = load_selection()

EXIT_OK = 0
EXIT_TESTS_FAILED = 1
EXIT_INTERNAL_ERROR = 2
EXIT_NO_TESTS = 5

FRAME_LINE = re.compile(r'^\s*File "(.+)", line (\d+)', re.MULTILINE)
MESSAGE_LIMIT = 1000


def main(argv):
    args = parse_args(argv)
    root = os.path.realpath(os.getcwd())
    merge_stderr_into_stdout()
    use_cwd_as_first_import_path(root)

    loader = ModuleTaggingLoader()
    try:
        suite = loader.discover(args.start_dir, args.pattern, args.top_level_dir)
    except Exception as e:
        traceback.print_exc()
        print(
            "pyci_unittest.py: unittest discovery failed (start dir %r, pattern %r): %s: %s"
            % (args.start_dir, args.pattern, type(e).__name__, e),
            flush=True,
        )
        return EXIT_INTERNAL_ERROR
    suite, chosen = select(suite, args)

    RecordingResult.locator = FrameLocator(root)
    runner = unittest.TextTestRunner(
        stream=sys.stdout,
        verbosity=2,
        resultclass=RecordingResult,
        warnings=None if sys.warnoptions else "default",
    )
    result = runner.run(suite)
    sys.stdout.flush()

    tests = result.entries()
    load_errors = sum(1 for t in tests if t.pop("load_error", False))
    results = {"tests": tests, "load_errors": load_errors, "counts": result.counts()}
    if chosen is not None:
        results["selection"] = chosen
    write_results(args.results, results)

    if result.testsRun == 0 and not (result.errors or result.failures or result.skipped):
        print("NO TESTS RAN", flush=True)
        return EXIT_NO_TESTS
    return EXIT_OK if result.wasSuccessful() else EXIT_TESTS_FAILED


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="pyci_unittest.py",
        description="Run unittest discovery and write structured results.",
    )
    parser.add_argument("--results", required=True, help="where to write the JSON results")
    parser.add_argument("--start-dir", default=".", help='directory to start discovery (default ".")')
    parser.add_argument("--pattern", default="test*.py", help='test file pattern (default "test*.py")')
    parser.add_argument("--top-level-dir", default=None, help="top-level directory of the project (default: start dir)")
    parser.add_argument("--shard", default=None, help="K/N: run the K-th of N shares of the tests")
    parser.add_argument("--weights", default=None, help="JSON {test id: ms} that balances the shares")
    parser.add_argument("--only", default=None, help="JSON list of the ids of the tests to run")
    args = parser.parse_args(argv)
    if args.shard is not None:
        match = re.match(r"^([1-9][0-9]*)/([1-9][0-9]*)$", args.shard)
        if not match or int(match.group(1)) > int(match.group(2)):
            parser.error("--shard must be K/N with 1 <= K <= N")
        args.shard = (int(match.group(1)) - 1, int(match.group(2)))
    if args.shard is not None and args.only is not None:
        parser.error("--shard and --only do not go together")
    return args


def select(suite, args):
    """The tests this run runs, and what it says of the choice (None: all of them)."""
    if args.only is not None:
        return selection.only(suite, read_json(args.only))
    if args.shard is not None:
        weights = read_json(args.weights) if args.weights else {}
        return selection.shard(suite, args.shard[0], args.shard[1], weights)
    return suite, None


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def merge_stderr_into_stdout():
    """One pipe for everything, so prints, warnings and the runner's own
    report reach the log in the order they happened."""
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(sys.stdout.fileno(), sys.stderr.fileno())
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(line_buffering=True)


def use_cwd_as_first_import_path(root):
    """`python -m unittest` puts the cwd first on sys.path; running this
    file as a script put the runner's own directory there instead."""
    here = os.path.realpath(os.path.dirname(os.path.abspath(__file__)))
    if sys.path and os.path.realpath(sys.path[0] or ".") == here:
        sys.path[0] = root
    elif root not in sys.path:
        sys.path.insert(0, root)


def write_results(path, data):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1)
        f.write("\n")
    os.replace(tmp, path)


class FrameLocator(object):
    """Finds the innermost traceback frame that belongs to the repository."""

    def __init__(self, root):
        self.root = root
        self.runner = os.path.realpath(os.path.abspath(__file__))
        self.excluded = set()
        for name in ("stdlib", "platstdlib", "purelib", "platlib"):
            path = sysconfig.get_paths().get(name)
            if path:
                self.excluded.add(os.path.realpath(path))

    def from_exc_info(self, err):
        frames = traceback.extract_tb(err[2]) if err and err[2] is not None else []
        for frame in reversed(frames):
            found = self.in_repo(frame.filename, frame.lineno)
            if found:
                return found
        return None

    def from_text(self, text):
        for match in reversed(list(FRAME_LINE.finditer(text))):
            found = self.in_repo(match.group(1), int(match.group(2)))
            if found:
                return found
        return None

    def in_repo(self, filename, lineno):
        if not filename or filename.startswith("<") or not lineno:
            return None
        path = os.path.realpath(os.path.abspath(filename))
        if path == self.runner:
            return None
        parts = path.split(os.sep)
        if "site-packages" in parts or "dist-packages" in parts:
            return None
        for excluded in self.excluded:
            if is_within(path, excluded) and not is_within(self.root, excluded):
                return None
        if not is_within(path, self.root):
            return None
        return os.path.relpath(path, self.root).replace(os.sep, "/"), lineno


def is_within(path, directory):
    return path == directory or path.startswith(directory.rstrip(os.sep) + os.sep)


class ModuleTaggingLoader(unittest.TestLoader):
    """TestLoader that notes on each test the module it was loaded from.

    A TestCase class imported into a second test module (a shared base
    class re-exported by `from tests.test_a import Base`) is run once in
    each module under the same id; the module tells the two runs apart."""

    def loadTestsFromModule(self, module, *args, **kwargs):
        suite = super(ModuleTaggingLoader, self).loadTestsFromModule(module, *args, **kwargs)
        for test in selection.iterate_tests(suite):
            if getattr(test, "_pyci_module", None) is None:
                try:
                    test._pyci_module = module.__name__
                except AttributeError:  # a test object that refuses attributes
                    pass
        return suite


class RecordingResult(unittest.TextTestResult):
    """TextTestResult that also records one entry per thing it reports:
    each success, failure, error, skip, expected failure and unexpected
    success, a failing subtest being one failure of its own (as unittest
    counts it in `failures`)."""

    locator = None

    def __init__(self, *args, **kwargs):
        super(RecordingResult, self).__init__(*args, **kwargs)
        self._entries = []
        self._runs = {}

    # -- lifecycle -----------------------------------------------------

    def startTest(self, test):
        self._runs[id(test)] = {"started": time.perf_counter(), "entries": []}
        super(RecordingResult, self).startTest(test)

    def stopTest(self, test):
        super(RecordingResult, self).stopTest(test)
        run = self._runs.pop(id(test), None)
        if run is not None:
            duration_ms = round((time.perf_counter() - run["started"]) * 1000.0, 3)
            for entry in run["entries"]:
                entry["duration_ms"] = duration_ms

    # -- outcomes ------------------------------------------------------

    def addSuccess(self, test):
        super(RecordingResult, self).addSuccess(test)
        self._entry(test, "pass")

    def addFailure(self, test, err):
        super(RecordingResult, self).addFailure(test, err)
        self._entry(test, "fail", err=err)

    def addError(self, test, err):
        super(RecordingResult, self).addError(test, err)
        self._entry(test, "error", err=err)

    def addSkip(self, test, reason):
        super(RecordingResult, self).addSkip(test, reason)
        self._entry(test, "skip", message=str(reason))

    def addExpectedFailure(self, test, err):
        super(RecordingResult, self).addExpectedFailure(test, err)
        self._entry(test, "expected_failure", err=err, with_traceback=False)

    def addUnexpectedSuccess(self, test):
        super(RecordingResult, self).addUnexpectedSuccess(test)
        self._entry(test, "unexpected_success", message="unexpected success")

    def addSubTest(self, test, subtest, err):
        super(RecordingResult, self).addSubTest(test, subtest, err)
        if err is None:
            return
        outcome = "fail" if issubclass(err[0], test.failureException) else "error"
        self._entry(subtest, outcome, err=err)

    # -- bookkeeping ---------------------------------------------------

    def _entry(self, test, outcome, err=None, message=None, with_traceback=True):
        subtest = None
        if isinstance(test, unittest.case._SubTest):
            subtest, test = test, test.test_case
        key = selection.test_id(test)
        entry = {"id": key, "outcome": outcome, "duration_ms": 0.0}
        if subtest is not None:
            entry["subtest"] = describe_subtest(subtest)
        module = getattr(test, "_pyci_module", None)
        if module and not key.startswith(module + "."):
            entry["module"] = module
        if isinstance(test, unittest.loader._FailedTest):
            entry["load_error"] = True
        if err is not None:
            embedded = embedded_traceback(test, err)
            message = one_line_message(err, embedded)
            if with_traceback:
                entry["traceback"] = embedded or self._exc_info_to_string(err, test)
                where = self.locator.from_exc_info(err) or (embedded and self.locator.from_text(embedded))
                if where:
                    entry["file"], entry["line"] = where
        if message is not None:
            entry["message"] = truncate(message)
        self._entries.append(entry)
        run = self._runs.get(id(test))
        if run is not None:
            run["entries"].append(entry)

    def entries(self):
        return self._entries

    def counts(self):
        """unittest's own figures, as its summary line prints them."""
        return {
            "run": self.testsRun,
            "failures": len(self.failures),
            "errors": len(self.errors),
            "skipped": len(self.skipped),
            "expected_failures": len(self.expectedFailures),
            "unexpected_successes": len(self.unexpectedSuccesses),
        }


def describe_subtest(subtest):
    """The subtest's message and parameters as unittest prints them: "(i=1)", "[label] (i=1)"."""
    describe = getattr(subtest, "_subDescription", None)
    return describe() if describe else str(subtest)


def embedded_traceback(test, err):
    """Import failures arrive as ImportError("Failed to import test module:
    NAME\\n<traceback text>"): the real traceback exists only as text."""
    if not isinstance(test, unittest.loader._FailedTest):
        return None
    text = str(err[1])
    head, sep, rest = text.partition("\n")
    if sep and rest.lstrip().startswith("Traceback"):
        return rest
    return None


def one_line_message(err, embedded):
    if embedded:
        lines = [line for line in embedded.splitlines() if line.strip()]
        return lines[-1].strip() if lines else "import failed"
    try:
        lines = traceback.format_exception_only(err[0], err[1])
    except Exception:  # a broken __str__ must not stop the report
        return err[0].__name__
    text = "".join(lines).strip()
    return text.splitlines()[0] if text else err[0].__name__


def truncate(text):
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 3] + "..."


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except SystemExit:
        raise
    except Exception:
        traceback.print_exc()
        sys.stderr.write("pyci_unittest.py: internal error, no results written\n")
        sys.stderr.flush()
        sys.exit(EXIT_INTERNAL_ERROR)
