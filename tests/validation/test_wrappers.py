"""optional, nullable, default, refine, super_refine, transform, coerce, lazy, typing."""

from __future__ import annotations

from typing import Any

from asgi_app import validation as v

from .helpers import issues_of, messages_of


def test_optional_and_nullable() -> None:
    assert v.object({"a": v.optional(v.int())}).parse({}) == {}
    assert v.nullable(v.int()).parse(None) is None
    assert v.int().nullable().parse(4) == 4
    assert issues_of(v.int().optional(), None) == [((), "invalid_type")]
    both = v.object({"a": v.int().nullable().optional()})
    assert both.parse({}) == {} and both.parse({"a": None}) == {"a": None}


def test_default_factory() -> None:
    calls: list[int] = []

    def make() -> int:
        calls.append(1)
        return len(calls)

    s = v.object({"n": v.int().default_factory(make)})
    assert s.parse({}) == {"n": 1}
    assert s.parse({}) == {"n": 2}
    assert s.parse({"n": 9}) == {"n": 9}


def test_refine_reports_at_its_path_and_keeps_field_issues() -> None:
    teams = v.object({"blue": v.string().min(1), "red": v.string().min(1), "max": v.int().min(1)})
    s = teams.refine(lambda d: d["blue"] != d["red"], "names must differ", path=("red",))
    assert s.parse({"blue": "a", "red": "b", "max": 1})["red"] == "b"
    assert issues_of(s, {"blue": "", "red": "", "max": 0}) == [
        (("blue",), "too_small"),
        (("red",), "too_small"),
        (("max",), "too_small"),
        (("red",), "custom"),
    ]
    assert messages_of(s, {"blue": "a", "red": "a", "max": 1}) == ["names must differ"]
    # a type error aborts: the check never sees a value of the wrong shape
    assert issues_of(s, {"blue": 1, "red": "a", "max": 1}) == [(("blue",), "invalid_type")]


def test_refine_code_abort_and_exceptions() -> None:
    s = v.int().refine(lambda n: n % 2 == 0, "must be even", code="not_even", abort=True)
    assert s.parse(2) == 2
    assert issues_of(s, 3) == [((), "not_even")]
    outer = v.object({"a": s}).refine(lambda d: False, "never reached")
    assert issues_of(outer, {"a": 3}) == [(("a",), "not_even")]

    def explode(value: str) -> bool:
        raise ValueError(value)

    assert issues_of(v.string().refine(explode), "secret") == [((), "custom")]
    assert messages_of(v.string().refine(explode), "secret") == ["invalid value"]


def test_refine_on_missing_optional_is_skipped() -> None:
    def positive(n: int | None) -> bool:
        assert n is not None, "never called for an absent key"
        return n > 0

    s = v.object({"a": v.int().optional().refine(positive, "positive")})
    assert s.parse({}) == {}
    assert issues_of(s, {"a": 0}) == [(("a",), "custom")]


def test_super_refine_reports_many() -> None:
    def check(d: dict[str, Any], report: v.Reporter) -> None:
        for side in ("blue", "red"):
            if d[side] > d["max"]:
                report.add("must not exceed max", path=(side,), code="too_big")

    s = v.object({"blue": v.int(), "red": v.int(), "max": v.int()}).super_refine(check)
    assert s.parse({"blue": 1, "red": 2, "max": 2}) == {"blue": 1, "red": 2, "max": 2}
    assert issues_of(s, {"blue": 3, "red": 4, "max": 2}) == [
        (("blue",), "too_big"),
        (("red",), "too_big"),
    ]

    def broken(d: dict[str, Any], report: v.Reporter) -> None:
        raise TypeError("bug")

    assert issues_of(v.object({}).super_refine(broken), {}) == [((), "custom")]
    assert issues_of(v.object({}).super_refine(broken), 1) == [((), "invalid_type")]


def test_transform() -> None:
    length = v.string().min(2).transform(len)
    assert length.parse("abc") == 3
    assert issues_of(length, "a") == [((), "too_small")]
    assert issues_of(length, 1) == [((), "invalid_type")]
    number = v.string().transform(int)
    assert issues_of(number, "x") == [((), "custom")]
    chained = v.string().transform(str.upper).refine(lambda s: s.startswith("A"), "bad start")
    assert chained.parse("abc") == "ABC"
    assert issues_of(chained, "xyz") == [((), "custom")]
    assert v.object({"a": v.string().transform(len).optional()}).parse({}) == {}


def test_coerce_boolean() -> None:
    s = v.coerce.boolean()
    for text in ("true", "1", "yes", "on", "TRUE", " On "):
        assert s.parse(text) is True, text
    for text in ("false", "0", "no", "off", "False", "OFF"):
        assert s.parse(text) is False, text
    assert s.parse(True) is True
    assert issues_of(s, "maybe") == [((), "invalid_type")]
    assert messages_of(s, "") == ["required"]


def test_coerce_numbers() -> None:
    assert v.coerce.int().parse("0") == 0
    assert v.coerce.int().parse(" -12 ") == -12
    assert v.coerce.int().parse(7) == 7
    for bad in ("1.5", "1_000", "0x10", "ten", "1e3"):
        assert issues_of(v.coerce.int(), bad) == [((), "invalid_type")], bad
    assert issues_of(v.coerce.int().min(1), "0") == [((), "too_small")]
    assert v.coerce.number().parse("2.5") == 2.5
    assert v.coerce.number().parse("10") == 10
    assert v.coerce.number().parse("1e3") == 1000.0
    for bad in ("nan", "inf", "1.2.3", "x"):
        assert issues_of(v.coerce.number(), bad) == [((), "invalid_type")], bad
    assert v.coerce.string().parse(5) == "5"


def test_coerce_empty_counts_as_missing() -> None:
    s = v.object(
        {
            "a": v.coerce.int().default(5),
            "b": v.coerce.boolean().optional(),
            "c": v.coerce.int(),
            "d": v.coerce.string().optional(),
        }
    )
    assert s.parse({"a": "", "b": "", "c": "1", "d": " "}) == {"a": 5, "c": 1}
    assert issues_of(s, {"c": ""}) == [(("c",), "invalid_type")]
    assert messages_of(s, {"c": ""}) == ["required"]
    assert v.coerce.int().optional().parse("") is None


def test_lazy_recursion() -> None:
    node: v.Schema[dict[str, Any]]
    node = v.object({"name": v.string(), "children": v.array(v.lazy(lambda: node)).default([])})
    tree = {"name": "root", "children": [{"name": "a", "children": [{"name": "b"}]}]}
    assert node.parse(tree)["children"][0]["children"][0] == {"name": "b", "children": []}
    bad = {"name": "root", "children": [{"name": "a", "children": [{"name": 1}]}]}
    assert issues_of(node, bad) == [(("children", 0, "children", 0, "name"), "invalid_type")]


def test_parse_results_are_typed() -> None:
    # These assignments are checked by mypy --strict: parse returns T.
    text: str = v.string().parse("a")
    count: int = v.int().parse(1)
    ratio: float = v.number().parse(1.5)
    flag: bool = v.boolean().parse(True)
    items: list[int] = v.array(v.int()).parse([1])
    table: dict[str, int] = v.record(v.int()).parse({"a": 1})
    either: str | int = v.union(v.string(), v.int()).parse(1)
    maybe: str | None = v.string().nullable().parse(None)
    size: int = v.string().transform(len).parse("abc")
    assert (text, count, ratio, flag, items, table, either, maybe, size) == (
        "a",
        1,
        1.5,
        True,
        [1],
        {"a": 1},
        1,
        None,
        3,
    )


def test_safe_parse_result() -> None:
    ok = v.int().safe_parse(1)
    assert ok.ok and ok.value == 1 and ok.error is None
    bad = v.int().safe_parse("x")
    assert not bad.ok and bad.value is None and bad.error is not None


def test_describe_does_not_change_validation() -> None:
    s = v.int().min(1).describe("how many")
    assert s.parse(1) == 1
    assert issues_of(s, 0) == [((), "too_small")]


def test_pipe() -> None:
    s = v.string().transform(len).pipe(v.int().min(2))
    assert s.parse("abc") == 3
    assert issues_of(s, "a") == [((), "too_small")]
    assert issues_of(s, 1) == [((), "invalid_type")]
    stops = v.string().min(3).pipe(v.string().max(1))
    assert issues_of(stops, "ab") == [((), "too_small")], "the second schema never runs"


def test_default_then_optional_fills_the_default() -> None:
    s = v.object({"a": v.string().default("q").optional(), "b": v.int().optional().default(1)})
    assert s.parse({}) == {"a": "q", "b": 1}


def test_object_refine_runs_after_a_range_issue_behind_a_transform_or_union() -> None:
    seen: list[object] = []

    def never(d: dict[str, Any]) -> bool:
        seen.append(d["a"])
        return False

    piped = v.object({"a": v.string().min(3).transform(len)}).refine(never)
    assert issues_of(piped, {"a": "x"}) == [(("a",), "too_small"), ((), "custom")]
    assert seen == ["x"], "the transform did not run: the refine sees the text, as in Zod"
    union = v.object({"a": v.union(v.string().min(3), v.int())}).refine(never)
    assert issues_of(union, {"a": "x"}) == [(("a",), "too_small"), ((), "custom")]
    strict = v.object({"a": v.int()}).strict().refine(never)
    assert issues_of(strict, {"a": 1, "b": 2}) == [(("b",), "unrecognized_keys"), ((), "custom")]
    typed = v.object({"a": v.string().min(3).transform(len)}).refine(never)
    assert issues_of(typed, {"a": 1}) == [(("a",), "invalid_type")]
