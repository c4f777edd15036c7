"""The import rules of docs/ARCHITECTURE.md ("Import rules"), read from every module's imports.

Each rule there has its line in RULES below, with the same words; a test checks that the two
lists stay the same, so a rule cannot be stated without being checked, nor checked unstated.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("asgi_app", "gateway", "bench", "tests")

#: (the rule as ARCHITECTURE.md words it, the modules it covers, what they may not import,
#:  exceptions: modules they may import although the forbidden prefix covers them)
RULES: list[tuple[str, str, tuple[str, ...], tuple[str, ...]]] = [
    ("`gateway/` imports nothing from `asgi_app/`.", "gateway", ("asgi_app",), ()),
    (
        "`gateway/connection/` and `gateway/rest/` import neither each other nor the rooms "
        "that use them.",
        "gateway.connection",
        (
            "gateway.rest",
            "gateway.interactions",
            "gateway.audit",
            "gateway.events",
            "gateway.timers",
            "gateway.delivery",
            "gateway.simulator",
        ),
        (),
    ),
    (
        "`gateway/rest/` imports no other room of `gateway/` but `gateway.clock`, "
        "`gateway.backoff`, `gateway.user_agent`, `gateway.egress` and `gateway.private_files`.",
        "gateway.rest",
        (
            "gateway.connection",
            "gateway.interactions",
            "gateway.audit",
            "gateway.events",
            "gateway.timers",
            "gateway.delivery",
            "gateway.simulator",
        ),
        (),
    ),
    (
        "`gateway/journal/` imports no other room of `gateway/` but `gateway.clock`, "
        "`gateway.backoff`, `gateway.private_files` and `gateway.redis_client`.",
        "gateway.journal",
        ("gateway",),
        (
            "gateway.journal",
            "gateway.clock",
            "gateway.backoff",
            "gateway.private_files",
            "gateway.redis_client",
        ),
    ),
    (
        "`gateway/interactions/`, `gateway/audit/`, `gateway/timers/` and `gateway/delivery/` "
        "never import `gateway/connection/`.",
        "gateway.interactions gateway.audit gateway.timers gateway.delivery",
        ("gateway.connection",),
        (),
    ),
    (
        "`gateway/delivery/` imports no other room of `gateway/` but `gateway.rest`, "
        "`gateway.clock`, `gateway.backoff` and `gateway.private_files`: the forwards, the "
        "events and the timers use it, never the other way round.",
        "gateway.delivery",
        ("gateway",),
        (
            "gateway.delivery",
            "gateway.rest",
            "gateway.clock",
            "gateway.backoff",
            "gateway.private_files",
        ),
    ),
    (
        "The simulator (`gateway/simulator/`) imports nothing of the client's.",
        "gateway.simulator",
        (
            "gateway.connection",
            "gateway.rest",
            "gateway.interactions",
            "gateway.audit",
            "gateway.events",
            "gateway.timers",
            "gateway.delivery",
        ),
        (),
    ),
    (
        "The HTTP framework (`asgi_app/http/`) imports only itself.",
        "asgi_app.http",
        ("asgi_app", "gateway"),
        ("asgi_app.http",),
    ),
    (
        "The validation library (`asgi_app/validation/`) imports only itself.",
        "asgi_app.validation",
        ("asgi_app", "gateway"),
        ("asgi_app.validation",),
    ),
    (
        "The framework, the validation library and `gateway/` never import the app's top "
        "level (`asgi_app.factory`, `asgi_app.services`, `asgi_app.settings`, the routes).",
        "asgi_app.http asgi_app.validation gateway",
        (
            "asgi_app.factory",
            "asgi_app.services",
            "asgi_app.settings",
            "asgi_app.routes",
            "asgi_app.metrics",
        ),
        (),
    ),
    (
        "The routes (`asgi_app/routes/`) never import the overlay.",
        "asgi_app.routes",
        ("asgi_app.overlay",),
        (),
    ),
    (
        "`asgi_app/` and `gateway/` import nothing from `bench/` or `tests/`.",
        "asgi_app gateway",
        ("bench", "tests"),
        (),
    ),
    ("`bench/` imports nothing from `tests/` but `tests/support`.", "bench", ("tests",),
     ("tests.support",)),
    ("`tests/` imports nothing from `bench/` (what both need lives in `tests/support`).",
     "tests", ("bench",), ()),
]  # fmt: skip


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> Iterator[tuple[str, Path]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "__pycache__" not in path.parts:
                yield _module_name(path), path


def imports_of(name: str, path: Path) -> set[str]:
    """Every module `path` imports (relative imports resolved), TYPE_CHECKING ones included."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def broken(rule: tuple[str, str, tuple[str, ...], tuple[str, ...]]) -> list[str]:
    _, covered, forbidden, allowed = rule
    found = []
    for name, path in _modules():
        if not any(_under(name, prefix) for prefix in covered.split()):
            continue
        for imported in imports_of(name, path):
            if any(_under(imported, p) for p in allowed):
                continue
            if any(_under(imported, p) for p in forbidden):
                found.append(f"{name} imports {imported}")
    return sorted(found)


@pytest.mark.parametrize("rule", RULES, ids=[r[0][:60] for r in RULES])
def test_rule_holds(rule: tuple[str, str, tuple[str, ...], tuple[str, ...]]) -> None:
    assert broken(rule) == []


def test_architecture_states_exactly_these_rules() -> None:
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    section = text.split("Import rules", 1)[1].split("\n\n", 1)[0]
    stated = [" ".join(item.split()) for item in re.split(r"\n- ", section)[1:]]
    assert stated == [rule[0] for rule in RULES]


def test_the_checker_sees_a_forbidden_import(tmp_path: Path) -> None:
    """The checker itself: a relative import that climbs into another room is resolved."""
    module = tmp_path / "gateway" / "rest" / "x.py"
    module.parent.mkdir(parents=True)
    module.write_text("from ..connection import shard\nimport asgi_app.settings\n")
    seen = imports_of("gateway.rest.x", module)
    assert "gateway.connection.shard" in seen and "asgi_app.settings" in seen
