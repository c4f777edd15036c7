"""Zod parity cases (see zod_parity_cases.py): strings, numbers, booleans, literals, enums."""

from __future__ import annotations

from typing import Any

from asgi_app import validation as v

Row = tuple[str, str, v.Schema[Any], list[Any]]
s, n, i = v.string, v.number, v.int
INF = float("inf")

ROWS: list[Row] = [
    # -- strings
    ("string", "z.string()", s(), ["abc", "", 1, None, True, [], {}]),
    ("string-min-max", "z.string().min(2).max(4)", s().min(2).max(4), ["ab", "a", "abcde"]),
    ("string-length", "z.string().length(3)", s().length(3), ["abc", "ab", "abcd"]),
    (
        "string-every-check",
        "z.string().min(5).regex(/^[a-z]+$/)",
        s().min(5).regex(r"^[a-z]+$"),
        ["A1", "abcdef"],
    ),
    ("string-regex", "z.string().regex(/^[0-9]+$/)", s().regex(r"^[0-9]+$"), ["123", "12a"]),
    ("string-trim-then-min", "z.string().trim().min(3)", s().trim().min(3), ["  a  ", " abc "]),
    ("string-min-then-trim", "z.string().min(3).trim()", s().min(3).trim(), ["  a  ", "a"]),
    ("string-nonempty", "z.string().nonempty()", s().nonempty(), ["", "x"]),
    (
        "email",
        "z.email()",
        s().email(),
        [
            "someone@example.org",
            "a.b+c@sub.example.co",
            "a@b.-c.com",
            "a..b@c.co",
            "a@b",
            ".a@b.co",
            "a.@b.co",
            "a @b.co",
            "@b.co",
            "a@b.c",
            "a_b@x-y.io",
        ],
    ),
    (
        "datetime",
        "z.iso.datetime()",
        s().datetime(),
        [
            "2024-05-01T12:00:00Z",
            "2024-05-01T12:00:00.123Z",
            "2024-05-01T12:00:00",
            "2024-05-01T12:00:00+02:00",
            "2024-05-01",
            "2024-02-30T00:00:00Z",
            "2024-02-29T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-05-01T12:00Z",
            "2024-05-01T24:00:00Z",
            "2024-05-01t12:00:00z",
        ],
    ),
    (
        "datetime-offset",
        "z.iso.datetime({offset: true})",
        s().datetime(offset=True),
        ["2024-05-01T12:00:00+02:00", "2024-05-01T12:00:00Z", "2024-05-01T12:00:00+2:00"],
    ),
    (
        "datetime-local",
        "z.iso.datetime({local: true})",
        s().datetime(local=True),
        ["2024-05-01T12:00:00", "2024-05-01T12:00", "2024-05-01T12:00:00+02:00"],
    ),
    (
        "datetime-precision",
        "z.iso.datetime({precision: 3})",
        s().datetime(precision=3),
        ["2024-05-01T12:00:00.123Z", "2024-05-01T12:00:00Z"],
    ),
    ("url", "z.url()", s().url(), ["https://example.com/a?b=1", "example.com"]),
    # -- numbers
    ("number", "z.number()", n(), [1.5, 2, "1", True, None, INF, -INF, float("nan")]),
    ("number-range", "z.number().min(0).max(10)", n().min(0).max(10), [0, 10, -0.5, 10.5]),
    ("number-gt-lt", "z.number().gt(0).lt(1)", n().gt(0).lt(1), [0.5, 0, 1]),
    ("number-two-mins", "z.number().min(10).min(5)", n().min(10).min(5), [7, 10]),
    ("number-sign", "z.number().positive()", n().positive(), [1, 0, -1]),
    ("number-nonnegative", "z.number().nonnegative()", n().nonnegative(), [0, -1]),
    ("number-negative", "z.number().negative()", n().negative(), [-1, 0]),
    ("multiple-of", "z.number().multipleOf(5)", n().multiple_of(5), [15, 7, 0]),
    ("int", "z.int()", i(), [3, 3.0, 2.5, True, "3", 2**53 - 1, 2**53, -(2**53), None]),
    ("int-range", "z.int().min(1).max(10)", i().min(1).max(10), [1, 10, 0, 11]),
    ("int-float-beyond-safe", "z.int()", i(), [9.8e24]),
    ("boolean", "z.boolean()", v.boolean(), [True, False, 0, "true", None]),
    # -- literals and enums
    ("literal-string", 'z.literal("blue")', v.literal("blue"), ["blue", "red", 1]),
    ("literal-number", "z.literal(1)", v.literal(1), [1, True, "1"]),
    ("literal-true", "z.literal(true)", v.literal(True), [True, 1]),
    ("literal-null", "z.literal(null)", v.literal(None), [None, 0]),
    (
        "enum",
        'z.enum(["online", "idle"])',
        v.enum(["online", "idle"]),
        ["idle", "away", 1, None],
    ),
    ("any", "z.any()", v.any(), [None, 1, "x", [1], {"a": 1}]),
]
