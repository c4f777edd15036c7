"""The open-file limit is raised at start to cover FORWARD_MAX_IN_FLIGHT, or the operator is
told why a burst could fail (run in a child process whose limits the test sets)."""

from __future__ import annotations

import resource
import subprocess
import sys

PROBE = """
import logging, resource, sys
logging.basicConfig(level=logging.WARNING, stream=sys.stdout, format="%(message)s")
from asgi_app.file_limit import ensure_file_limit
print("in force", ensure_file_limit(int(sys.argv[1])))
print("soft now", resource.getrlimit(resource.RLIMIT_NOFILE)[0])
"""


def _run(soft: int, hard: int, forwards: int) -> str:
    def limits() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(forwards)],
        preexec_fn=limits,  # only setrlimit, before exec
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def test_a_low_soft_limit_is_raised_to_what_the_forwards_need() -> None:
    out = _run(256, 8192, 1000)
    assert "in force 2024" in out
    assert "soft now 2024" in out
    assert "Too many open files" not in out


def test_a_hard_limit_too_low_is_raised_as_far_as_it_goes_and_said() -> None:
    out = _run(256, 512, 1000)
    assert "soft now 512" in out
    assert "open-file limit 512 is below the 2024 that FORWARD_MAX_IN_FLIGHT=1000 wants" in out
    assert "--ulimit nofile=2024" in out


def test_a_limit_already_high_enough_is_left_alone() -> None:
    out = _run(4096, 8192, 1000)
    assert "soft now 4096" in out
    assert "below" not in out
