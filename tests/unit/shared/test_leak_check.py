"""The suite's leak check (tests/conftest.py `no_leaks`) fails a test that leaves a thread, a child process or a
checked-out database connection behind, and says what leaked; a test that cleans up passes."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

CONFTEST = """
from tests.conftest import no_leaks  # noqa: F401 - the autouse fixture under test
"""

LEAKY = """
import subprocess
import threading

import pytest

held = threading.Event()
children = []


def test_leaves_a_thread():
    threading.Thread(target=held.wait, name="forgotten-worker").start()


def test_leaves_a_child_process():
    children.append(subprocess.Popen(["sleep", "30"]))


def test_cleans_up():
    worker = threading.Thread(target=lambda: None, name="joined-worker")
    worker.start()
    worker.join()
    child = subprocess.Popen(["true"])
    child.wait()


def teardown_module():
    held.set()
    for child in children:
        child.kill()
        child.wait()
"""


@pytest.fixture
def leaky(pytester: pytest.Pytester, monkeypatch):
    from tests.conftest import REPO_ROOT

    monkeypatch.syspath_prepend(str(REPO_ROOT))
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_leaky=LEAKY)
    monkeypatch.setattr("tests.conftest.LEAK_GRACE_S", 0.2)
    return pytester


def test_a_leftover_thread_or_child_process_fails_the_test_by_name(leaky):
    result = leaky.runpytest_inprocess("-p", "no:randomly", "-p", "no:cacheprovider")

    result.assert_outcomes(passed=3, errors=2)
    output = result.stdout.str()
    assert "ERROR at teardown of test_leaves_a_thread" in output
    assert "the test leaked: non-daemon threads still running: ['forgotten-worker']" in output
    assert "ERROR at teardown of test_leaves_a_child_process" in output
    assert "the test leaked: child processes still running: {" in output and "'sleep 30'}" in output
