"""The exported JSON Schema against the validator, on generated values (checked with the
`jsonschema` package, draft 2020-12): every value the validator accepts is accepted by the
export; for schemas without refinements, transforms, pipes, urls, coercion or recursion the
reverse holds too. For every schema in the project (found by scanning asgi_app) and every
parity case's schema.

The export leaves out int()'s safe-integer range (see docs/ARCHITECTURE.md), so generated
integers stay within it."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import asgi_app
from asgi_app import validation as v

from .near_values import is_exact, near
from .zod_parity_cases import CASES


def project_schemas() -> dict[str, v.Schema[Any]]:
    """Every module-level schema under asgi_app (the library itself aside)."""
    found: dict[str, v.Schema[Any]] = {}
    seen: set[int] = set()
    for info in pkgutil.walk_packages(asgi_app.__path__, "asgi_app."):
        if info.name.startswith("asgi_app.validation"):
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if isinstance(value, v.Schema) and id(value) not in seen:
                seen.add(id(value))
                found[f"{info.name}.{name}"] = value
    return found


PROJECT = project_schemas()
PARITY = {case.id.rsplit("-", 1)[0]: case.schema for case in CASES}
SCHEMAS = {**PROJECT, **{f"parity:{name}": schema for name, schema in PARITY.items()}}
NAMES = sorted(SCHEMAS)


def test_the_project_schemas_are_all_found() -> None:
    from asgi_app.overlay.schema import OVERLAY_DATA
    from asgi_app.routes.discord import PRESENCE
    from asgi_app.settings import ENV_SCHEMA

    for schema in (OVERLAY_DATA, PRESENCE, ENV_SCHEMA):
        assert any(found is schema for found in PROJECT.values())


def _validator(schema: v.Schema[Any]) -> jsonschema.Draft202012Validator:
    exported = schema.json_schema()
    jsonschema.Draft202012Validator.check_schema(exported)
    return jsonschema.Draft202012Validator(exported)


VALIDATORS = {name: _validator(SCHEMAS[name]) for name in NAMES}


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_export_accepts_what_the_validator_accepts(name: str, data: st.DataObject) -> None:
    schema = SCHEMAS[name]
    value = data.draw(near(schema))
    if schema.safe_parse(value).ok:
        errors = [e.message for e in VALIDATORS[name].iter_errors(value)]
        assert not errors, (value, errors)


EXACT = [name for name in NAMES if is_exact(SCHEMAS[name])]


def test_most_schemas_are_checked_both_ways() -> None:
    assert len(EXACT) >= 50
    assert "asgi_app.routes.discord.PRESENCE" in EXACT
    assert "asgi_app.overlay.schema.TEAM" in EXACT


@pytest.mark.parametrize("name", EXACT)
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_validator_accepts_what_the_export_accepts(name: str, data: st.DataObject) -> None:
    schema = SCHEMAS[name]
    value = data.draw(near(schema))
    if VALIDATORS[name].is_valid(value):
        result = schema.safe_parse(value)
        assert result.ok, (value, result.error and result.error.to_list())
