"""The suite's own helpers: a wait that gives up says what it saw, and shared helpers live
in conftest.py or a helpers module, never in a test module (a reader finds them where they
are shared, and one test file never breaks because another's insides changed)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from conftest import SHOWN, poll_until, wait_until

TESTS = Path(__file__).parent
BENCHMARKS = TESTS.parent / "benchmarks"  # they import the tests' helpers too


class Falsy:
    """A value a condition may return that is not true, with a long repr."""

    def __bool__(self):
        return False

    def __repr__(self):
        return "Falsy(" + "x" * 1000 + ")"


def test_wait_until_failure_says_what_was_seen(sandbox):
    with pytest.raises(AssertionError) as failure:
        wait_until(lambda: sandbox.clock.elapsed() >= 10, timeout=5)  # a condition that is True or False
    assert "within 5 s of call time;" in str(failure.value)
    assert str(failure.value).endswith("it last returned False")

    with pytest.raises(AssertionError) as failure:  # a condition whose value is what the test wants
        wait_until(lambda: sandbox.webhooks(), timeout=5, description="a webhook (no call was placed)")
    assert "within 5 s of call time for a webhook (no call was placed);" in str(failure.value)
    assert str(failure.value).endswith("it last returned []")


def test_a_long_value_seen_is_cut_short_with_its_length(sandbox):
    with pytest.raises(AssertionError) as failure:
        wait_until(Falsy, timeout=1)
    message = str(failure.value)
    assert "it last returned Falsy(xxx" in message and message.endswith(f"... ({len(repr(Falsy()))} characters)")
    assert len(message) < SHOWN + 200


def test_a_real_time_wait_says_what_was_seen_too():
    seen = iter(range(1000))
    with pytest.raises(AssertionError) as failure:
        poll_until(lambda: next(seen) < 0 and "never", timeout=0.05, description="a negative number")
    assert "within 0.05 s for a negative number" in str(failure.value)
    assert str(failure.value).endswith("it last returned False")

    with pytest.raises(AssertionError) as failure:
        wait_until(lambda: {}, timeout=0.05)  # no sandbox running: wait_until polls in real time
    assert "within 0.05 s;" in str(failure.value) and str(failure.value).endswith("it last returned {}")


def test_a_wait_that_succeeds_returns_the_value():
    assert wait_until(lambda: ["here"], timeout=1) == ["here"]
    assert poll_until(lambda: 7, timeout=1) == 7


def test_no_test_module_imports_another():
    """Shared helpers belong in conftest.py or a helpers module named for what it holds
    (like webhook_requests.py), shared fixtures in conftest.py."""
    found = []
    for path in sorted(TESTS.glob("*.py")) + sorted(BENCHMARKS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            found += [f"{path.relative_to(TESTS.parent)}:{node.lineno} imports {name}" for name in names
                      if name.split(".")[0].startswith("test_")]
    assert not found, "move what they share to conftest.py or a helpers module:\n" + "\n".join(found)
