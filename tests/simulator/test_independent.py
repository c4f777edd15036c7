"""The simulator is the other side of the wire: it imports nothing from the client it tests
(gateway/simulator/README.md), so a bug shared by both cannot hide."""

from __future__ import annotations

import ast
from pathlib import Path

import gateway.simulator

SIMULATOR = Path(gateway.simulator.__file__).parent
CLIENT = ("asgi_app", "gateway.connection", "gateway.rest", "gateway.interactions", "gateway.audit")


def _imports(path: Path) -> list[str]:
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
    return found


def test_the_simulator_imports_nothing_from_the_client() -> None:
    files = sorted(SIMULATOR.rglob("*.py"))
    assert len(files) >= 10
    offending = [
        f"{path.relative_to(SIMULATOR)}: {module}"
        for path in files
        for module in _imports(path)
        if module.startswith(CLIENT) or module in ("gateway.clock", "gateway.user_agent")
    ]
    assert offending == []
