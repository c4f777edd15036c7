"""Hypothesis strategies of values near a schema: mostly of the right shape, often just
inside or outside its bounds and formats, sometimes anything. Used to compare a schema with
its exported JSON Schema, where random JSON alone would almost never pass validation."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from asgi_app import validation as v
from asgi_app.validation import checks, formats, wrappers

SAFE = formats.MAX_SAFE_INTEGER
LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(-SAFE, SAFE)
    | st.floats(-1e15, 1e15)
    | st.text(max_size=6)
)
URLS = st.sampled_from(["https://example.com/a", "http://h:8080", "redis://r", "x", ""])

#: Kinds whose export is exactly the set of accepted values (the reverse check applies).
_INEXACT = (
    wrappers.RefineSchema,
    wrappers.SuperRefineSchema,
    wrappers.PipeSchema,  # and TransformSchema
    wrappers.LazySchema,
    v.DateTimeSchema,
    v.NativeEnumSchema,
)


def is_exact(schema: v.Schema[Any]) -> bool:
    """No refinement, transform, pipe, url, coercion or recursion anywhere inside."""
    if isinstance(schema, _INEXACT) or getattr(schema, "_coerce", None) is not None:
        return False
    if isinstance(schema, v.StringSchema):
        return not any(isinstance(step, checks.Url | checks.Trim) for step in schema._steps)
    return all(is_exact(child) for child in children(schema))


def children(schema: v.Schema[Any]) -> list[v.Schema[Any]]:
    if isinstance(schema, wrappers.Wrapper):
        return [schema.inner, *([schema.then] if type(schema) is wrappers.PipeSchema else [])]
    if isinstance(schema, v.ObjectSchema):
        return list(schema.shape.values())
    if isinstance(schema, v.ArraySchema):
        return [schema.item]
    if isinstance(schema, v.TupleSchema):
        rest = [schema.rest_schema] if schema.rest_schema is not None else []
        return [*schema.items, *rest]
    if isinstance(schema, v.RecordSchema):
        return [schema.keys, schema.values]
    if isinstance(schema, v.UnionSchema | v.DiscriminatedUnionSchema):
        return list(schema.options)
    return []


def near(schema: v.Schema[Any], depth: int = 0) -> st.SearchStrategy[Any]:
    """Values near `schema` (lists for tuples; at most a few levels of recursion)."""
    if depth >= 4:
        return LEAVES
    shaped = _near(schema, depth)
    return st.one_of(shaped, shaped, shaped, shaped, LEAVES)  # mostly of the right shape


def _strings(schema: v.StringSchema) -> st.SearchStrategy[str]:
    lows = [c.n for c in schema._steps if isinstance(c, checks.MinLength | checks.LengthEquals)]
    highs = [c.n for c in schema._steps if isinstance(c, checks.MaxLength | checks.LengthEquals)]
    low, high = max(lows, default=0), min(highs, default=max(lows, default=0) + 4)
    top = max(low, high) + 2
    inside = st.text("abz", min_size=low, max_size=max(low, high))
    options: list[st.SearchStrategy[str]] = [inside, inside, st.text(max_size=top)]
    for step in schema._steps:
        if isinstance(step, checks.Regex):
            options.append(st.from_regex(step.pattern))
        elif isinstance(step, checks.Email):
            options.append(st.from_regex(formats.EMAIL, fullmatch=True))
        elif isinstance(step, checks.DateTimeText):
            options.append(st.from_regex(step.pattern, fullmatch=True))
        elif isinstance(step, checks.Url):
            options.append(URLS)
    return st.one_of(options)


def _numbers(schema: Any, integral: bool) -> st.SearchStrategy[Any]:
    edges = [c.value for c in schema._checks if isinstance(c, checks.Bound)]
    steps = [c.step for c in schema._checks if isinstance(c, checks.MultipleOf)]
    near_edges = st.sampled_from(edges or [0]).flatmap(
        lambda e: st.sampled_from([e - 1, e, e + 1, e + 0.5] if not integral else [e - 1, e, e + 1])
    )
    if steps:
        near_edges |= st.integers(-20, 20).map(lambda k: k * steps[0])
    lows = [c.value for c in schema._checks if isinstance(c, checks.Bound) and c.op[0] == "g"]
    highs = [c.value for c in schema._checks if isinstance(c, checks.Bound) and c.op[0] == "l"]
    low, high = int(max(lows, default=-100)), int(min(highs, default=100))
    inside = st.integers(low, max(low, high))
    near_edges = st.one_of(inside, inside, near_edges)
    wide = st.integers(-SAFE, SAFE) | (
        st.integers(-5, 5).map(float) if integral else st.floats(-1e15, 1e15)
    )
    return near_edges | wide


def _near(schema: v.Schema[Any], depth: int) -> st.SearchStrategy[Any]:
    deeper = depth + 1
    if isinstance(schema, v.StringSchema):
        return _strings(schema)
    if isinstance(schema, v.IntSchema):
        return _numbers(schema, True)
    if isinstance(schema, v.NumberSchema):
        return _numbers(schema, False)
    if isinstance(schema, v.BooleanSchema):
        return st.booleans() | st.sampled_from(["true", "off", "1", ""])
    if isinstance(schema, v.LiteralSchema):
        return st.just(schema.value)
    if isinstance(schema, v.EnumSchema):
        return st.sampled_from(schema.values)
    if isinstance(schema, v.NativeEnumSchema):
        return st.sampled_from([m.value for m in schema.enum_type])
    if isinstance(schema, v.DateTimeSchema):
        return st.sampled_from(["2024-05-01T12:00:00Z", "2024-05-01", "x"])
    if isinstance(schema, wrappers.LazySchema):
        return near(schema.target(), deeper)
    if isinstance(schema, wrappers.Wrapper):
        return near(schema.inner, depth)
    if isinstance(schema, v.ObjectSchema):
        fields = {key: near(field, deeper) for key, field in schema.shape.items()}
        required = {k: fields[k] for k, f in schema.shape.items() if not f.may_be_absent}
        optional = {k: fields[k] for k in fields if k not in required}
        extra = st.dictionaries(st.sampled_from(["extra", "zz"]), LEAVES, max_size=1)
        full = st.fixed_dictionaries(required, optional=optional)
        return st.builds(
            lambda known, more: {**more, **known},
            st.one_of(full, full, full, st.fixed_dictionaries({}, optional=fields)),
            st.one_of(st.just({}), st.just({}), extra),
        )
    if isinstance(schema, v.ArraySchema):
        lows = [
            c.n for c in schema._checks if isinstance(c, checks.MinLength | checks.LengthEquals)
        ]
        highs = [
            c.n for c in schema._checks if isinstance(c, checks.MaxLength | checks.LengthEquals)
        ]
        low = max(lows, default=0)
        high = max(low, min(highs, default=low + 3))
        item = _near(schema.item, deeper) if deeper < 4 else LEAVES
        return st.lists(item, min_size=low, max_size=high) | st.lists(
            near(schema.item, deeper), max_size=4
        )
    if isinstance(schema, v.TupleSchema):
        items = [near(item, deeper) for item in schema.items]
        no_more: list[Any] = []
        rest: st.SearchStrategy[list[Any]] = st.lists(
            near(schema.rest_schema or v.any(), deeper), max_size=2
        ) | st.just(no_more)
        whole: st.SearchStrategy[int] = st.just(len(items))
        sizes = st.one_of(whole, whole, whole, st.sampled_from(range(len(items) + 1)))
        return st.builds(lambda fixed, n, more: [*fixed[:n], *more], st.tuples(*items), sizes, rest)
    if isinstance(schema, v.RecordSchema):
        keys = schema.keys
        if isinstance(keys, v.EnumSchema):
            values = near(schema.values, deeper)
            every = st.fixed_dictionaries({k: values for k in keys.values})
            some = st.fixed_dictionaries({}, optional={k: values for k in (*keys.values, "zz")})
            return every | some
        return st.dictionaries(
            near(keys, deeper).filter(lambda k: isinstance(k, str)) | st.text(max_size=3),
            near(schema.values, deeper),
            max_size=3,
        )
    if isinstance(schema, v.UnionSchema | v.DiscriminatedUnionSchema):
        return st.one_of([near(option, deeper) for option in schema.options])
    return LEAVES
