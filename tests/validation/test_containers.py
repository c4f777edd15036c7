"""object, array, tuple, record: success, unknown keys, nested paths, every issue collected."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from asgi_app import validation as v

from .helpers import issues_of, messages_of

TEAM = v.object({"score": v.int().min(0), "name": v.string().min(1)})


def test_object_strips_unknown_keys_by_default() -> None:
    assert TEAM.parse({"score": 1, "name": "a", "extra": 2}) == {"score": 1, "name": "a"}


def test_object_strict_reports_each_unknown_key() -> None:
    s = TEAM.strict()
    assert s.parse({"score": 1, "name": "a"}) == {"score": 1, "name": "a"}
    assert issues_of(s, {"score": 1, "name": "a", "x": 1, "y": 2}) == [
        (("x",), "unrecognized_keys"),
        (("y",), "unrecognized_keys"),
    ]


def test_object_passthrough_keeps_unknown_keys() -> None:
    s = TEAM.passthrough()
    assert s.parse({"score": 1, "name": "a", "extra": [1]}) == {
        "score": 1,
        "name": "a",
        "extra": [1],
    }
    assert s.strip().parse({"score": 1, "name": "a", "extra": 1}) == {"score": 1, "name": "a"}


def test_object_missing_and_wrong_fields_all_reported() -> None:
    assert issues_of(TEAM, {}) == [(("score",), "invalid_type"), (("name",), "invalid_type")]
    assert messages_of(TEAM, {}) == ["required", "required"]
    assert issues_of(TEAM, {"score": -1, "name": 5}) == [
        (("score",), "too_small"),
        (("name",), "invalid_type"),
    ]
    assert issues_of(TEAM, [1]) == [((), "invalid_type")]
    assert messages_of(TEAM, "x") == ["expected object, received string"]


def test_object_required_literal_enum_union_report_missing_as_required() -> None:
    s = v.object(
        {
            "a": v.literal("x"),
            "b": v.enum(["p"]),
            "c": v.union(v.string(), v.int()),
            "d": v.lazy(lambda: v.string()),
        }
    )
    # the codes Zod 4 gives a missing literal, enum, union and string (issue 14)
    assert issues_of(s, {}) == [
        (("a",), "invalid_value"),
        (("b",), "invalid_value"),
        (("c",), "invalid_union"),
        (("d",), "invalid_type"),
    ]
    assert set(messages_of(s, {})) == {"required"}


def test_object_optional_default_nullable_fields() -> None:
    s = v.object(
        {
            "opt": v.string().optional(),
            "dflt": v.int().default(2),
            "lst": v.array(v.int()).default([]),
            "null": v.string().nullable(),
        }
    )
    out = s.parse({"null": None})
    assert out == {"dflt": 2, "lst": [], "null": None}
    out["lst"].append(1)
    assert s.parse({"null": None})["lst"] == [], "a mutable default is copied per use"
    assert s.parse({"opt": "x", "dflt": 3, "lst": [1], "null": "y"}) == {
        "opt": "x",
        "dflt": 3,
        "lst": [1],
        "null": "y",
    }
    assert issues_of(s, {"opt": None, "null": 1}) == [
        (("opt",), "invalid_type"),
        (("null",), "invalid_type"),
    ]
    assert issues_of(s, {}) == [(("null",), "invalid_type")]


def test_object_dict_subclass_is_read_as_plain_dict() -> None:
    data: defaultdict[str, Any] = defaultdict(lambda: "filled", {"score": 1})
    assert issues_of(TEAM, data) == [(("name",), "invalid_type")]


def test_object_helpers() -> None:
    base = v.object({"a": v.int(), "b": v.string()})
    assert base.extend({"c": v.boolean()}).parse({"a": 1, "b": "x", "c": True})["c"] is True
    assert base.pick("a").parse({"a": 1, "b": 2}) == {"a": 1}
    assert base.omit("a").parse({"b": "x"}) == {"b": "x"}
    assert base.partial().parse({}) == {}


def test_nested_paths() -> None:
    s = v.object({"teams": v.array(v.object({"players": v.array(v.object({"name": v.string()}))}))})
    data = {"teams": [{"players": [{"name": "a"}]}, {"players": [{"name": "b"}, {"name": 3}]}]}
    result = s.safe_parse(data)
    assert result.error is not None
    [issue] = result.error.issues
    assert issue.path == ("teams", 1, "players", 1, "name")
    assert issue.pointer == "/teams/1/players/1/name"


def test_array() -> None:
    s = v.array(v.int())
    assert s.parse([1, 2]) == [1, 2]
    assert s.parse((1, 2)) == [1, 2]
    assert issues_of(s, [1, "x", 3, None]) == [((1,), "invalid_type"), ((3,), "invalid_type")]
    assert issues_of(s, {"0": 1}) == [((), "invalid_type")]
    assert issues_of(v.array(v.int()).min(2), [1]) == [((), "too_small")]
    assert issues_of(v.array(v.int()).max(1), [1, 2]) == [((), "too_big")]
    assert issues_of(v.array(v.int()).nonempty(), []) == [((), "too_small")]
    assert issues_of(v.array(v.int()).length(2), [1, 2, 3]) == [((), "too_big")]
    assert messages_of(v.array(v.int()).min(2), [1]) == ["must contain at least 2 items"]


def test_array_fast_path_returns_a_copy_and_falls_back_on_the_first_bad_item() -> None:
    source = ["a", "b"]
    out = v.array(v.string().min(1)).parse(source)
    assert out == source and out is not source
    assert issues_of(v.array(v.string().min(1)), ["a", "", "c", 4]) == [
        ((1,), "too_small"),
        ((3,), "invalid_type"),
    ]
    assert v.array(v.int().nullable()).parse([1, None]) == [1, None]
    assert v.array(v.int()).parse([1.0]) == [1]


def test_array_of_objects_is_a_new_list_of_new_dicts() -> None:
    data = [{"score": 1, "name": "a", "x": 1}]
    out = v.array(TEAM).parse(data)
    assert out == [{"score": 1, "name": "a"}]
    assert data[0]["x"] == 1


def test_tuple() -> None:
    s = v.tuple(v.string(), v.int())
    assert s.parse(["a", 1]) == ("a", 1)
    assert issues_of(s, ["a"]) == [((), "too_small")]
    assert issues_of(s, ["a", 1, 2]) == [((), "too_big")]
    assert issues_of(s, [1, "a"]) == [((0,), "invalid_type"), ((1,), "invalid_type")]
    assert issues_of(s, "ab") == [((), "invalid_type")]
    rest = s.rest(v.boolean())
    assert rest.parse(["a", 1, True, False]) == ("a", 1, True, False)
    assert issues_of(rest, ["a", 1, True, 0]) == [((3,), "invalid_type")]


def test_record() -> None:
    s = v.record(v.int().min(0))
    assert s.parse({"a": 1, "b": 2}) == {"a": 1, "b": 2}
    assert issues_of(s, {"a": -1, "b": "x"}) == [(("a",), "too_small"), (("b",), "invalid_type")]
    assert issues_of(s, [1]) == [((), "invalid_type")]
    keyed = v.record(v.int(), keys=v.string().regex(r"^[a-z]+$"))
    assert issues_of(keyed, {"ok": 1, "NO": 2}) == [(("NO",), "invalid_key")]


def test_every_issue_in_a_large_input_is_collected() -> None:
    s = v.array(v.object({"id": v.int().min(1), "email": v.string().email()}))
    data = [{"id": i if i % 3 else 0, "email": "a@b.co" if i % 5 else "no"} for i in range(300)]
    result = s.safe_parse(data)
    assert result.error is not None
    assert len(result.error.issues) == 100 + 60


def test_deep_nesting_is_outlined_into_separate_functions() -> None:
    deep_objects: v.Schema[Any] = v.int()
    deep_value: Any = 1
    for _ in range(60):
        deep_objects = v.object({"a": deep_objects, "b": v.int()})
        deep_value = {"a": deep_value, "b": 2}
    assert deep_objects.parse(deep_value) == deep_value
    bad = deep_value
    for _ in range(59):
        bad = bad["a"]
    bad["a"] = "x"
    [issue] = deep_objects.safe_parse(deep_value).error.issues  # type: ignore[union-attr]
    assert issue.path == ("a",) * 60

    deep_arrays: v.Schema[Any] = v.int()
    nested: Any = 1
    for _ in range(30):
        deep_arrays = v.array(deep_arrays)
        nested = [nested]
    assert deep_arrays.parse(nested) == nested
    deep_records: v.Schema[Any] = v.int()
    table: Any = 1
    for _ in range(30):
        deep_records = v.record(v.tuple(deep_records).rest(v.int()))
        table = {"k": [table, 5]}
    assert deep_records.parse(table) == _as_tuples(table)


def _as_tuples(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _as_tuples(item) for k, item in value.items()}
    if isinstance(value, list):
        return tuple(_as_tuples(item) for item in value)
    return value


def test_tuple_optional_trailing_items() -> None:
    s = v.tuple(v.int(), v.int().optional(), v.string().default("x"))
    assert s.parse([1]) == (1, "x")
    assert s.parse([1, 2, "y"]) == (1, 2, "y")
    assert issues_of(s, []) == [((), "too_small")]
    assert issues_of(s, [1, 2, "y", 4]) == [((), "too_big")]


def test_record_keyed_by_an_enum_requires_every_key() -> None:
    s = v.record(v.int(), keys=v.enum(["a", "b"]))
    assert s.parse({"b": 2, "a": 1}) == {"a": 1, "b": 2}
    assert issues_of(s, {"a": 1}) == [(("b",), "invalid_type")]
    assert issues_of(s, {"a": 1, "b": 2, "c": 3}) == [(("c",), "unrecognized_keys")]
    assert v.record(v.int().optional(), keys=v.enum(["a", "b"])).parse({}) == {}
