"""Zod parity cases (see zod_parity_cases.py): objects, refinements, pipes, arrays,
tuples, records, unions, recursion, coercion."""

from __future__ import annotations

from typing import Any

from asgi_app import validation as v

Row = tuple[str, str, v.Schema[Any], list[Any]]
s, n, i = v.string, v.number, v.int
INF = float("inf")

TEAM = v.object({"score": v.int().min(0), "name": v.string().min(1)})
TEAM_JS = "z.object({score: z.int().min(0), name: z.string().min(1)})"
TEAMS = v.object({"blue": v.string(), "red": v.string().min(1)}).refine(
    lambda d: d["blue"] != d["red"], "names must differ", path=("red",)
)
TEAMS_JS = (
    "z.object({blue: z.string(), red: z.string().min(1)})"
    '.refine(d => d.blue !== d.red, {message: "names must differ", path: ["red"]})'
)
SHAPES = v.discriminated_union(
    "kind",
    [
        v.object({"kind": v.literal("circle"), "r": v.number().positive()}),
        v.object({"kind": v.enum(["square", "box"]), "side": v.number()}),
    ],
)
SHAPES_JS = (
    'z.discriminatedUnion("kind", [z.object({kind: z.literal("circle"), r: z.number()'
    '.positive()}), z.object({kind: z.enum(["square", "box"]), side: z.number()})])'
)
NEVER = v.object({"a": v.string().min(3)})
PIPED = v.object({"a": v.string().min(3).transform(len)})


def _over_max(d: dict[str, Any], report: v.Reporter) -> None:
    for key in ("blue", "red"):
        if d[key] > d["max"]:
            report.add("too many", path=(key,))


def _tree() -> v.Schema[Any]:
    node: v.Schema[Any]
    node = v.object({"name": v.string(), "children": v.array(v.lazy(lambda: node)).default([])})
    return node


ROWS: list[Row] = [
    # -- objects
    (
        "object",
        TEAM_JS,
        TEAM,
        [
            {"score": 1, "name": "a"},
            {"score": 1, "name": "a", "extra": 2},
            {},
            [1],
            "x",
            {"score": -1, "name": 5},
            {"score": 1.5, "name": ""},
            None,
        ],
    ),
    (
        "object-strict",
        TEAM_JS + ".strict()",
        TEAM.strict(),
        [{"score": 1, "name": "a"}, {"score": 1, "name": "a", "x": 1}],
    ),
    (
        "object-passthrough",
        TEAM_JS + ".passthrough()",
        TEAM.passthrough(),
        [{"score": 1, "name": "a", "extra": [1]}],
    ),
    (
        "object-missing-kinds",
        'z.object({a: z.literal("x"), b: z.enum(["p"]), c: z.union([z.string(), z.int()]),'
        " d: z.lazy(() => z.string()), e: z.number(), f: z.object({})})",
        v.object(
            {
                "a": v.literal("x"),
                "b": v.enum(["p"]),
                "c": v.union(v.string(), v.int()),
                "d": v.lazy(lambda: v.string()),
                "e": v.number(),
                "f": v.object({}),
            }
        ),
        [{}],
    ),
    (
        "object-optional-default-nullable",
        "z.object({opt: z.string().optional(), dflt: z.int().default(2),"
        " lst: z.array(z.int()).default([]), nul: z.string().nullable()})",
        v.object(
            {
                "opt": v.string().optional(),
                "dflt": v.int().default(2),
                "lst": v.array(v.int()).default([]),
                "nul": v.string().nullable(),
            }
        ),
        [{"nul": None}, {"opt": None, "nul": 1}, {}, {"opt": "x", "dflt": 3, "nul": "y"}],
    ),
    (
        "default-then-optional",
        'z.object({a: z.string().default("q").optional()})',
        v.object({"a": v.string().default("q").optional()}),
        [{}, {"a": "x"}],
    ),
    (
        "optional-then-default",
        'z.object({a: z.string().optional().default("q")})',
        v.object({"a": v.string().optional().default("q")}),
        [{}, {"a": 1}],
    ),
    (
        "default-invalid-given",
        "z.object({a: z.int().default(2)})",
        v.object({"a": v.int().default(2)}),
        [{"a": "x"}, {"a": None}],
    ),
    (
        "object-nested-paths",
        "z.object({teams: z.array(z.object({players: z.array(z.object({name: z.string()}))}))})",
        v.object({"teams": v.array(v.object({"players": v.array(v.object({"name": s()}))}))}),
        [{"teams": [{"players": [{"name": "a"}]}, {"players": [{"name": "b"}, {"name": 3}]}]}],
    ),
    ("object-partial", TEAM_JS + ".partial()", TEAM.partial(), [{}, {"score": -1}]),
    (
        "object-pick-omit",
        TEAM_JS + ".pick({score: true})",
        TEAM.pick("score"),
        [{"score": 1, "name": 2}],
    ),
    # -- refine and super_refine
    (
        "refine-cross-field",
        TEAMS_JS,
        TEAMS,
        [
            {"blue": "a", "red": "b"},
            {"blue": "a", "red": "a"},
            {"blue": "", "red": ""},
            {"blue": 1, "red": "a"},
        ],
    ),
    (
        "refine-after-min",
        "z.object({a: z.string().min(3)}).refine(() => false)",
        NEVER.refine(lambda d: False),
        [{"a": "x"}, {"a": "xyz"}, {"a": 1}],
    ),
    (
        "refine-after-min-transform",
        "z.object({a: z.string().min(3).transform(s => s.length)}).refine(() => false)",
        PIPED.refine(lambda d: False),
        [{"a": "x"}],
    ),
    (
        "refine-after-union",
        "z.object({a: z.union([z.string().min(3), z.int()])}).refine(() => false)",
        v.object({"a": v.union(s().min(3), i())}).refine(lambda d: False),
        [{"a": "x"}],
    ),
    (
        "refine-after-strict",
        TEAM_JS + ".strict().refine(() => false)",
        TEAM.strict().refine(lambda d: False),
        [{"score": 1, "name": "a", "x": 1}],
    ),
    (
        "refine-abort",
        "z.int().refine(n => n % 2 === 0, {abort: true}).refine(() => false)",
        i().refine(lambda x: x % 2 == 0, abort=True).refine(lambda x: False),
        [3, 2],
    ),
    (
        "refine-on-optional",
        "z.object({a: z.int().optional().refine(n => n === undefined || n > 0)})",
        v.object({"a": i().optional().refine(lambda x: x is not None and x > 0)}),
        [{}, {"a": 0}, {"a": 1}],
    ),
    (
        "super-refine",
        "z.object({blue: z.int(), red: z.int(), max: z.int()}).superRefine((d, ctx) => {"
        ' for (const k of ["blue", "red"]) if (d[k] > d.max) ctx.addIssue({code: "custom",'
        " message: 'too many', path: [k]}); })",
        v.object({"blue": i(), "red": i(), "max": i()}).super_refine(_over_max),
        [{"blue": 1, "red": 2, "max": 2}, {"blue": 3, "red": 4, "max": 2}],
    ),
    # -- transform and pipe
    (
        "transform",
        "z.string().min(2).transform(s => s.length)",
        s().min(2).transform(len),
        ["abc", "a", 1],
    ),
    (
        "transform-then-refine",
        'z.string().transform(s => s.toUpperCase()).refine(s => s.startsWith("A"))',
        s().transform(str.upper).refine(lambda x: x.startswith("A")),
        ["abc", "xyz"],
    ),
    (
        "transform-min-then-refine",
        "z.string().min(3).transform(s => s.length).refine(() => false)",
        s().min(3).transform(len).refine(lambda x: False),
        ["a", "abcd"],
    ),
    ("pipe", "z.string().pipe(z.string().min(2))", s().pipe(s().min(2)), ["ab", "a", 1]),
    (
        "pipe-transform",
        "z.string().transform(s => s.length).pipe(z.int().min(2))",
        s().transform(len).pipe(i().min(2)),
        ["abc", "a"],
    ),
    (
        "pipe-stops-on-issue",
        "z.string().min(3).pipe(z.string().max(1))",
        s().min(3).pipe(s().max(1)),
        ["ab", "abcd"],
    ),
    # -- arrays and tuples
    ("array", "z.array(z.int())", v.array(i()), [[1, 2], [1, "x", 3, None], {"0": 1}, []]),
    (
        "array-min-max",
        "z.array(z.int()).min(2).max(3)",
        v.array(i()).min(2).max(3),
        [[1], [1, 2, 3, 4], [1, 2]],
    ),
    ("array-length", "z.array(z.int()).length(2)", v.array(i()).length(2), [[1], [1, 2, 3]]),
    (
        "array-min-and-items",
        "z.array(z.string().min(1)).min(3)",
        v.array(s().min(1)).min(3),
        [["a", ""], ["a", "", 4]],
    ),
    (
        "tuple",
        "z.tuple([z.string(), z.int()])",
        v.tuple(s(), i()),
        [["a", 1], ["a"], ["a", 1, 2], [1, "a"], "ab", ["a", "x", 3]],
    ),
    (
        "tuple-optional-tail",
        "z.tuple([z.int(), z.int().optional(), z.string().optional()])",
        v.tuple(i(), i().optional(), s().optional()),
        [[1], [1, 2], [1, 2, "x"], [], [1, "x"]],
    ),
    (
        "tuple-default-tail",
        "z.tuple([z.int(), z.int().default(7)])",
        v.tuple(i(), i().default(7)),
        [[1], [1, 2]],
    ),
    (
        "tuple-rest",
        "z.tuple([z.string(), z.int()], z.boolean())",
        v.tuple(s(), i()).rest(v.boolean()),
        [["a", 1, True, False], ["a", 1, True, 0], ["a"]],
    ),
    # -- records
    (
        "record",
        "z.record(z.string(), z.int().min(0))",
        v.record(i().min(0)),
        [{"a": 1, "b": 2}, {"a": -1, "b": "x"}, [1], {}],
    ),
    (
        "record-key-schema",
        "z.record(z.string().regex(/^[a-z]+$/), z.int())",
        v.record(i(), keys=s().regex(r"^[a-z]+$")),
        [{"ok": 1, "NO": 2}, {"ok": 1}],
    ),
    (
        "record-enum-keys",
        'z.record(z.enum(["a", "b"]), z.int())',
        v.record(i(), keys=v.enum(["a", "b"])),
        [{"a": 1, "b": 2}, {"a": 1}, {"a": 1, "b": 2, "c": 3}, {}],
    ),
    (
        "record-enum-optional-values",
        'z.record(z.enum(["a", "b"]), z.int().optional())',
        v.record(i().optional(), keys=v.enum(["a", "b"])),
        [{"a": 1}, {}],
    ),
    # -- unions
    ("union", "z.union([z.string(), z.int()])", v.union(s(), i()), ["a", 2, None, 2.5]),
    (
        "union-closest",
        "z.union([z.object({a: z.int().min(5)}), z.string()])",
        v.union(v.object({"a": i().min(5)}), s()),
        [{"a": 1}, {"a": "x"}],
    ),
    (
        "union-two-readable",
        "z.union([z.string().min(3), z.string().max(1)])",
        v.union(s().min(3), s().max(1)),
        ["ab", "abc", "a"],
    ),
    (
        "union-paths",
        "z.object({x: z.array(z.union([z.object({a: z.int().min(2)}), z.int()]))})",
        v.object({"x": v.array(v.union(v.object({"a": i().min(2)}), i()))}),
        [{"x": [1, {"a": 1}]}],
    ),
    (
        "discriminated-union",
        SHAPES_JS,
        SHAPES,
        [
            {"kind": "circle", "r": 1},
            {"kind": "box", "side": 2},
            {"kind": "circle", "r": 0},
            {"kind": "hexagon"},
            {},
            {"kind": ["circle"]},
            3,
            {"kind": "square", "side": "x"},
        ],
    ),
    ("nullable", "z.int().nullable()", i().nullable(), [None, 4, "x"]),
    ("optional-top", "z.int().optional()", i().optional(), [None, 1]),
    # -- recursion
    (
        "lazy-tree",
        "(() => { const node = z.object({name: z.string(), children: z.array("
        "z.lazy(() => node)).default([])}); return node; })()",
        _tree(),
        [
            {"name": "root", "children": [{"name": "a", "children": [{"name": 1}]}]},
            {"name": "root", "children": [{"name": "a"}]},
        ],
    ),
    # -- coercion (environment values only)
    ("coerce-int", "z.coerce.number().int()", v.coerce.int(), ["42", "", "x"]),
    ("coerce-boolean", "z.coerce.boolean()", v.coerce.boolean(), ["false", "yes"]),
]
