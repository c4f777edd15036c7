"""Property tests: on arbitrary JSON, parse raises nothing but ValidationError, safe_parse
never raises, accepted values parse to themselves, and messages never echo the input."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asgi_app import validation as v
from asgi_app.validation.codegen import build

MARK = "QZXJ"

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=25,
)

marked_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=10).map(lambda s: MARK + s),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["score", "name", "blue", "kind", "x"]), children, max_size=4
        )
    ),
    max_leaves=20,
)

TEAM = v.object(
    {
        "score": v.int().min(0),
        "name": v.string().min(1).max(40),
        "logoUrl": v.string().url(),
    }
)
SCHEMAS: list[v.Schema[Any]] = [
    v.string().min(2).regex(r"^[a-z]+$").email(),
    v.number().min(0).multiple_of(2),
    v.int().max(5),
    v.boolean(),
    v.literal("x"),
    v.enum(["a", "b"]),
    v.datetime(),
    TEAM,
    TEAM.strict(),
    v.object({"blue": TEAM, "red": TEAM.optional(), "max": v.int().default(2)})
    .passthrough()
    .refine(lambda d: d["blue"]["name"] != d.get("red", {}).get("name"), path=("red",)),
    v.array(v.union(v.string(), v.int().nullable())).max(3),
    v.tuple(v.string(), v.number()).rest(v.boolean()),
    v.record(v.array(v.int())),
    v.discriminated_union(
        "kind",
        [v.object({"kind": v.literal("a"), "x": v.int()}), v.object({"kind": v.literal("b")})],
    ),
    v.coerce.int().min(1),
    v.coerce.boolean(),
    v.coerce.number(),
    v.string().transform(len),
]


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(value=json_values, index=st.integers(min_value=0, max_value=len(SCHEMAS) - 1))
def test_parse_raises_only_validation_error(value: object, index: int) -> None:
    schema = SCHEMAS[index]
    result = schema.safe_parse(value)
    try:
        parsed = schema.parse(value)
    except v.ValidationError as error:
        assert not result.ok
        assert error.issues, "an error always carries at least one issue"
        json.dumps(error.to_list())
        for issue in error.issues:
            assert issue.code and issue.message
    else:
        assert result.ok
        assert result.value == parsed or parsed != parsed


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(value=marked_values, index=st.integers(min_value=0, max_value=len(SCHEMAS) - 1))
def test_messages_never_contain_input(value: object, index: int) -> None:
    result = SCHEMAS[index].safe_parse(value)
    if result.error is not None:
        for issue in result.error.issues:
            assert MARK not in issue.message
        assert MARK not in str(result.error)


@given(value=st.dictionaries(st.text(max_size=5), st.integers(), max_size=6))
def test_strip_passthrough_strict_agree(value: dict[str, int]) -> None:
    shape = {"a": v.int().optional(), "b": v.int().optional()}
    stripped = v.object(shape).parse(value)
    assert stripped == {k: n for k, n in value.items() if k in shape}
    assert v.object(shape).passthrough().parse(value) == value
    strict = v.object(shape).strict().safe_parse(value)
    assert strict.ok == (set(value) <= set(shape))


@given(value=st.lists(st.one_of(st.text(max_size=3), st.integers()), max_size=20))
def test_array_fast_and_slow_paths_agree(value: list[object]) -> None:
    schema = v.array(v.string().min(1))
    result = schema.safe_parse(value)
    expected_bad = [i for i, item in enumerate(value) if not isinstance(item, str) or not item]
    if expected_bad:
        assert result.error is not None
        assert [issue.path for issue in result.error.issues] == [(i,) for i in expected_bad]
    else:
        assert result.value == value


FAST_SCHEMAS: list[v.Schema[Any]] = [
    v.object(
        {
            "id": v.int().min(1),
            "name": v.string().min(1),
            "tags": v.array(v.string()),
            "note": v.string().optional(),
            "owner": v.object({"id": v.int(), "ok": v.boolean()}),
            "level": v.int().default(1),
        }
    ),
    v.object({"a": v.int(), "b": v.object({"c": v.int().max(3)}).strict()}).passthrough(),
    v.object({"a": v.literal("x"), "b": v.enum(["p", "q"]), "c": v.number().nullable()}).strict(),
]

fast_inputs = st.fixed_dictionaries(
    {},
    optional={
        "id": st.one_of(st.integers(-2, 3), st.text(max_size=2)),
        "name": st.one_of(st.text(max_size=2), st.integers()),
        "tags": st.lists(st.one_of(st.text(max_size=2), st.integers()), max_size=3),
        "note": st.one_of(st.text(max_size=2), st.none()),
        "owner": st.one_of(
            st.fixed_dictionaries({}, optional={"id": st.integers(), "ok": st.booleans()}),
            st.integers(),
        ),
        "level": st.integers(),
        "a": st.one_of(st.integers(), st.just("x"), st.text(max_size=1)),
        "b": st.one_of(
            st.just("p"), st.integers(), st.dictionaries(st.sampled_from("cd"), st.integers(0, 5))
        ),
        "c": st.one_of(st.none(), st.floats(allow_nan=False), st.integers()),
        "zz": st.integers(),
    },
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(value=fast_inputs, index=st.integers(min_value=0, max_value=len(FAST_SCHEMAS) - 1))
def test_fast_path_matches_the_general_path(value: dict[str, Any], index: int) -> None:
    schema = FAST_SCHEMAS[index]
    general = build(schema._emit, "general", fast=False)
    fast_issues: list[v.Issue] = []
    general_issues: list[v.Issue] = []
    fast_out = schema.validator()(value, (), fast_issues)
    general_out = general(value, (), general_issues)
    assert fast_issues == general_issues
    if not fast_issues:
        assert fast_out == general_out
