"""Which discovered tests one run of pyci_unittest.py runs: one share of a
parallel run (--shard K/N), or a list of test ids (--only).

A share is made of whole units, so that what unittest does once per module
or class is done once, as in a serial run: a test module with
setUpModule/tearDownModule is one unit, each class of another module is
one, and each module that failed to import is one. Units are dealt to the
N shares longest first, each to the least loaded share (weights: durations
of earlier builds by test id, the median of those for a test without one,
1 each when none is known). Every process of a parallel run discovers the
same suite and computes the same deal; the fingerprint of the units lets
the caller check that they did.

Standard library only; Python 3.8+.
"""

import hashlib
import sys
import unittest
import unittest.loader

LOADER_PREFIX = "unittest.loader."
# a test's cost beyond its recorded duration: starting it, reporting it
PER_TEST_MS = 0.5


def iterate_tests(suite):
    if isinstance(suite, unittest.TestSuite):
        for test in suite:
            for inner in iterate_tests(test):
                yield inner
    else:
        yield suite


def test_id(test):
    key = test.id()
    if key.startswith(LOADER_PREFIX):
        # unittest.loader._FailedTest.tests.test_x -> tests.test_x
        key = key.split(".", 3)[-1] if key.count(".") >= 3 else key
    return key


def only(suite, ids):
    """The tests of `suite` whose id is in `ids` (modules that failed to import are never chosen)."""
    wanted = set(ids)
    chosen = [t for t in iterate_tests(suite) if not failed_import(t) and test_id(t) in wanted]
    return kept(suite, set(map(id, chosen))), {"selected": len(chosen)}


def shard(suite, index, count, weights):
    """Share `index` (0-based) of `count` of `suite`, and what the caller checks: the fingerprint of the deal."""
    tests = list(iterate_tests(suite))
    keys = [unit_key(t) for t in tests]
    known = sorted(weights[test_id(t)] for t in tests if test_id(t) in weights)
    default = known[len(known) // 2] if known else 1.0
    units = {}
    for test, key in zip(tests, keys):
        units[key] = units.get(key, 0.0) + weights.get(test_id(test), default) + PER_TEST_MS
    deal = balance(units, count)
    chosen = set(id(t) for t, key in zip(tests, keys) if deal[key] == index)
    digest = hashlib.sha256()
    for test, key in zip(tests, keys):
        digest.update(("%s\0%s\n" % (key, test_id(test))).encode("utf-8", "replace"))
    info = {"tests": len(tests), "units": len(units), "selected": len(chosen), "fingerprint": digest.hexdigest()}
    return kept(suite, chosen), info


def balance(units, count):
    """Longest unit first, to the least loaded share (the lowest index on a tie); ties keep discovery order."""
    loads = [0.0] * count
    deal = {}
    for key in sorted(units, key=lambda k: -units[k]):
        target = min(range(count), key=lambda i: (loads[i], i))
        deal[key] = target
        loads[target] += units[key]
    return deal


def unit_key(test):
    if failed_import(test):
        return "import:" + test.id()
    cls = type(test)
    module = sys.modules.get(cls.__module__)
    if module is not None and (hasattr(module, "setUpModule") or hasattr(module, "tearDownModule")):
        return "module:" + cls.__module__
    return "class:%s.%s" % (cls.__module__, getattr(cls, "__qualname__", cls.__name__))


def failed_import(test):
    return isinstance(test, unittest.loader._FailedTest)


def kept(suite, chosen):
    """`suite` with only the tests whose id() is in `chosen`, its nesting kept (unittest runs fixtures by it)."""
    inner = keep(suite, chosen)
    return inner if isinstance(inner, unittest.TestSuite) else unittest.TestSuite([] if inner is None else [inner])


def keep(suite, chosen):
    if isinstance(suite, unittest.TestSuite):
        inner = [k for k in (keep(t, chosen) for t in suite) if k is not None]
        return unittest.TestSuite(inner) if inner else None
    return suite if id(suite) in chosen else None
