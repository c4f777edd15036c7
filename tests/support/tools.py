"""Finding external tools; under REQUIRE_ALL=1 (CI) a missing tool fails instead of skipping."""

from __future__ import annotations

import os
import shutil

import pytest


def require_tool(name: str, *candidates: str) -> str:
    """Return the path of the first tool found, or skip (fail under REQUIRE_ALL=1)."""
    for candidate in (name, *candidates):
        found = shutil.which(candidate)
        if found:
            return found
    message = f"required tool {name!r} is not installed"
    if os.environ.get("REQUIRE_ALL") == "1":
        pytest.fail(message + " (REQUIRE_ALL=1: CI must install it)")
    pytest.skip(message)
