"""The Zod parity cases: one schema written twice (the library's, and the same in Zod 4 as
JavaScript source), and an input. Zod's results are recorded in zod_parity_expected.py by
record_zod_parity.py (run once with Node and zod@4; the tests need no Node)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from asgi_app import validation as v

from . import zod_parity_leaves, zod_parity_shapes


@dataclass(frozen=True)
class Case:
    id: str
    zod: str  # a JavaScript expression with `z` in scope
    schema: v.Schema[Any]
    input: Any  # JSON, or MISSING (undefined), or a float infinity / NaN


def _cases() -> list[Case]:
    cases: list[Case] = []
    for name, zod, schema, inputs in (*zod_parity_leaves.ROWS, *zod_parity_shapes.ROWS):
        for index, value in enumerate(inputs):
            cases.append(Case(f"{name}-{index}", zod, schema, value))
    return cases


CASES = _cases()
