"""Zod parity: every case of zod_parity_cases.py gives Zod 4's result (recorded once with Node
in zod_parity_expected.py), or is one of the intentional differences listed here and in
docs/ARCHITECTURE.md ("Differences from Zod"), each with its reason."""

from __future__ import annotations

from typing import Any

import pytest

from asgi_app import validation as v

from .zod_parity_cases import CASES, Case
from .zod_parity_expected import EXPECTED, ZOD_VERSION

#: case id -> the documented difference it shows (the keys of DIFFERENCES).
INTENTIONAL: dict[str, str] = {
    "object-strict-1": "unknown-keys",
    "refine-after-strict-0": "unknown-keys",
    "record-enum-keys-2": "unknown-keys",
    "int-float-beyond-safe-0": "unsafe-float",
    "coerce-int-1": "coercion",
    "coerce-boolean-0": "coercion",
}

DIFFERENCES: dict[str, str] = {
    "unknown-keys": "one unrecognized_keys issue per unknown key, at that key's path (Zod: one "
    "issue at the object's path listing the keys), so each key can be pointed at",
    "unsafe-float": "an integral float beyond 2**53 is invalid_type: JSON integers too large "
    "for 64 bits arrive as such floats and are no longer exact (Zod: too_big)",
    "coercion": "coercion is for environment text: blank text counts as missing, booleans "
    "read true/false/1/0/yes/no/on/off (Zod: Number('') is 0, Boolean('false') is true)",
}


def _plain(value: Any) -> Any:
    """Our output as JSON would carry it (tuples are arrays)."""
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def ours(case: Case) -> dict[str, Any]:
    result = case.schema.safe_parse(case.input)
    if result.ok:
        return {"ok": True, "value": _plain(result.value)}
    assert result.error is not None
    return {"ok": False, "issues": [(i.path, i.code) for i in result.error.issues]}


def test_the_cases_were_recorded_with_zod_4() -> None:
    assert ZOD_VERSION.startswith("4.")
    assert len(CASES) >= 80
    assert {case.id for case in CASES} == set(EXPECTED)
    assert set(INTENTIONAL.values()) <= set(DIFFERENCES)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_zod_parity(case: Case) -> None:
    expected = EXPECTED[case.id]
    got = ours(case)
    if case.id in INTENTIONAL:
        assert got != expected, f"{case.id} now matches Zod: take it off the list"
        assert expected["ok"] or not got["ok"], "we never accept what Zod rejects"
        return
    assert got == expected
    for _, code in got.get("issues", []):
        assert code in v.CODES
