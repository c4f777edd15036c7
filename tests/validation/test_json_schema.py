"""JSON Schema (draft 2020-12) export for every kind."""

from __future__ import annotations

import enum
from typing import Any

from asgi_app import validation as v
from asgi_app.validation.schema import DIALECT


def js(schema: v.Schema[Any]) -> dict[str, Any]:
    return schema.json_schema(root=False)


def test_root_carries_the_dialect() -> None:
    assert v.string().json_schema() == {"$schema": DIALECT, "type": "string"}


def test_scalars() -> None:
    assert js(v.string().min(1).max(5).regex(r"^a")) == {
        "type": "string",
        "minLength": 1,
        "maxLength": 5,
        "pattern": "^a",
    }
    assert js(v.string().length(3)) == {"type": "string", "minLength": 3, "maxLength": 3}
    assert js(v.string().url())["format"] == "uri"
    assert js(v.string().email())["format"] == "email"
    assert js(v.string().datetime())["format"] == "date-time"
    assert js(v.int().min(0).lt(10)) == {"type": "integer", "minimum": 0, "exclusiveMaximum": 10}
    assert js(v.number().gt(0).max(1).multiple_of(0.5)) == {
        "type": "number",
        "exclusiveMinimum": 0,
        "maximum": 1,
        "multipleOf": 0.5,
    }
    assert js(v.boolean()) == {"type": "boolean"}
    assert js(v.literal("a")) == {"type": "string", "const": "a"}
    assert js(v.literal(2)) == {"type": "integer", "const": 2}
    assert js(v.literal(None)) == {"type": "null", "const": None}
    assert js(v.enum(["a", "b"])) == {"type": "string", "enum": ["a", "b"]}

    class Kind(enum.Enum):
        A = 1
        B = "b"

    assert js(v.enum(Kind)) == {"enum": [1, "b"]}
    assert js(v.datetime()) == {"type": "string", "format": "date-time"}
    assert js(v.any()) == {}


def test_object_modes_and_required() -> None:
    s = v.object({"a": v.int(), "b": v.string().optional(), "c": v.int().default(3)})
    assert js(s) == {
        "type": "object",
        "properties": {
            "a": {"type": "integer"},
            "b": {"type": "string"},
            "c": {"type": "integer", "default": 3},
        },
        "required": ["a"],
    }
    assert js(s.strict())["additionalProperties"] is False
    assert "additionalProperties" not in js(s.passthrough())
    assert "required" not in js(v.object({}))


def test_containers() -> None:
    assert js(v.array(v.int()).min(1).max(3)) == {
        "type": "array",
        "items": {"type": "integer"},
        "minItems": 1,
        "maxItems": 3,
    }
    assert js(v.tuple(v.string(), v.int())) == {
        "type": "array",
        "prefixItems": [{"type": "string"}, {"type": "integer"}],
        "minItems": 2,
        "items": False,
        "maxItems": 2,
    }
    assert js(v.tuple(v.string()).rest(v.int()))["items"] == {"type": "integer"}
    assert js(v.record(v.int())) == {"type": "object", "additionalProperties": {"type": "integer"}}
    assert js(v.record(v.int(), keys=v.string().min(2)))["propertyNames"] == {
        "type": "string",
        "minLength": 2,
    }


def test_combinators() -> None:
    assert js(v.union(v.string(), v.int())) == {"anyOf": [{"type": "string"}, {"type": "integer"}]}
    du = v.discriminated_union(
        "k", [v.object({"k": v.literal("a")}), v.object({"k": v.literal("b")})]
    )
    schema = js(du)
    assert schema["discriminator"] == {"propertyName": "k"}
    assert len(schema["oneOf"]) == 2
    assert js(v.int().nullable()) == {"anyOf": [{"type": "integer"}, {"type": "null"}]}
    assert js(v.int().optional()) == {"type": "integer"}
    assert js(v.int().refine(lambda n: n > 0)) == {"type": "integer"}
    assert js(v.string().transform(len)) == {"type": "string"}
    assert js(v.int().describe("a count")) == {"type": "integer", "description": "a count"}
    assert js(v.int().default_factory(lambda: 1)) == {"type": "integer"}
    assert js(v.lazy(lambda: v.int())) == {}


def test_export_is_never_looser_than_the_checks() -> None:
    """issue 14: the tighter of two bounds, every pattern, defaults of any JSON value."""
    assert js(v.number().min(10).min(5)) == {"type": "number", "minimum": 10}
    assert js(v.number().max(5).max(10).lt(3).lt(7)) == {
        "type": "number",
        "maximum": 5,
        "exclusiveMaximum": 3,
    }
    assert js(v.string().min(2).min(1).max(9).max(4)) == {
        "type": "string",
        "minLength": 2,
        "maxLength": 4,
    }
    assert js(v.string().regex("a").regex("b")) == {
        "type": "string",
        "pattern": "a",
        "allOf": [{"pattern": "b"}],
    }
    assert js(v.array(v.int()).min(3).min(1)) == {
        "type": "array",
        "items": {"type": "integer"},
        "minItems": 3,
    }
    assert js(v.array(v.int()).default([1]))["default"] == [1]
    assert js(v.object({}).passthrough().default({"a": (1, 2)}))["default"] == {"a": [1, 2]}
    assert "default" not in js(v.any().default(object()))


def test_trim_exports_only_what_still_holds_for_the_untrimmed_text() -> None:
    assert js(v.string().max(9).trim().min(2).max(4).regex("x")) == {
        "type": "string",
        "maxLength": 9,
        "minLength": 2,
    }


def test_new_kinds_export() -> None:
    assert js(v.tuple(v.int(), v.int().optional())) == {
        "type": "array",
        "prefixItems": [{"type": "integer"}, {"type": "integer"}],
        "minItems": 1,
        "items": False,
        "maxItems": 2,
    }
    assert js(v.record(v.int(), keys=v.enum(["a", "b"]))) == {
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
        "additionalProperties": False,
        "required": ["a", "b"],
    }
    assert js(v.string().pipe(v.string().min(2))) == {"type": "string"}
    assert js(v.coerce.int()) == {"anyOf": [{"type": "integer"}, {"type": "string"}]}
    email = js(v.string().email())
    assert email["format"] == "email" and email["pattern"].startswith("^")
    assert "format" not in js(v.string().datetime(local=True))
