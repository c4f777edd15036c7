"""union and discriminated_union."""

from __future__ import annotations

import pytest

from asgi_app import validation as v

from .helpers import issues_of, messages_of


def test_union_first_clean_option_wins() -> None:
    s = v.union(v.string(), v.int())
    assert s.parse("a") == "a"
    assert s.parse(2) == 2


def test_union_no_option_matches() -> None:
    s = v.union(v.string(), v.int())
    assert issues_of(s, None) == [((), "invalid_union")]
    assert messages_of(s, None) == ["does not match any of the allowed types"]


def test_union_reports_the_closest_option() -> None:
    s = v.union(v.object({"a": v.int().min(5)}), v.string())
    assert issues_of(s, {"a": 1}) == [(("a",), "too_small")]


def test_union_paths_are_absolute() -> None:
    s = v.object({"x": v.array(v.union(v.object({"a": v.int().min(2)}), v.int()))})
    assert issues_of(s, {"x": [1, {"a": 1}]}) == [(("x", 1, "a"), "too_small")]


SHAPES = v.discriminated_union(
    "kind",
    [
        v.object({"kind": v.literal("circle"), "r": v.number().positive()}),
        v.object({"kind": v.enum(["square", "box"]), "side": v.number()}),
    ],
)


def test_discriminated_union() -> None:
    assert SHAPES.parse({"kind": "circle", "r": 1}) == {"kind": "circle", "r": 1}
    assert SHAPES.parse({"kind": "box", "side": 2}) == {"kind": "box", "side": 2}
    assert issues_of(SHAPES, {"kind": "circle", "r": 0}) == [(("r",), "too_small")]
    assert issues_of(SHAPES, {"kind": "hexagon"}) == [(("kind",), "invalid_union")]
    assert issues_of(SHAPES, {}) == [(("kind",), "invalid_union")]
    assert issues_of(SHAPES, {"kind": ["circle"]}) == [(("kind",), "invalid_union")]
    assert issues_of(SHAPES, 3) == [((), "invalid_type")]
    nested = v.object({"shape": SHAPES})
    assert issues_of(nested, {"shape": {"kind": "square", "side": "x"}}) == [
        (("shape", "side"), "invalid_type")
    ]


def test_discriminated_union_construction_errors() -> None:
    with pytest.raises(ValueError):
        v.discriminated_union(
            "k", [v.object({"k": v.literal("a")}), v.object({"k": v.literal("a")})]
        )
    with pytest.raises(ValueError):
        v.discriminated_union("k", [v.object({"k": v.string()})])
    with pytest.raises(ValueError):
        v.discriminated_union("k", [v.object({"other": v.literal(1)})])
    with pytest.raises(ValueError):
        v.union()
