"""The code generator: each schema compiles once into one specialised Python function.

A schema emits statements that validate the local variable `src` and hand the result to
`out(expr)` (an assignment into the parent's dict, an `append`, or a local). Problems are
appended to `issues`; when the value cannot be used at all the schema also sets the `bad`
flag it was given. Paths are only built when an issue is reported: the generated code keeps
the static part of the path as literals and the dynamic part (array indices, record keys)
in loop variables, so the success path allocates nothing for them.

Generated function: `def _validate(value, path, issues)`, returning the value or INVALID.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .issues import INVALID, MISSING, Issue, type_issue

Out = Callable[[str], str]
Validator = Callable[[Any, tuple[Any, ...], list[Issue]], Any]


class Gen:
    """Accumulates the lines and the namespace of one generated function."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.ns: dict[str, Any] = {
            "Issue": Issue,
            "_new": tuple.__new__,
            "MISSING": MISSING,
            "INVALID": INVALID,
            "_ti": type_issue,
            "isinstance": isinstance,
            "len": len,
            "type": type,
            "str": str,
            "int": int,
            "float": float,
            "dict": dict,
            "list": list,
            "tuple": tuple,
            "enumerate": enumerate,
            "ValueError": ValueError,
            "TypeError": TypeError,
        }
        self._counter = 0
        #: Whether objects may emit their speculative fast path (off inside a fallback).
        self.fast = True
        #: `for` statements open around the current line (CPython allows 20 nested blocks).
        self.loops = 0

    def too_deep(self, indent: int) -> bool:
        """Past this depth a container is called as its own compiled function instead of
        being inlined (CPython limits indentation to 100 levels and nested blocks to 20)."""
        return indent > 40 or self.loops >= 8

    def call(
        self, fn: Callable[..., Any], src: str, parts: tuple[str, ...], ind: int, out: Out, bad: str
    ) -> None:
        """Emit a call to another compiled validator `fn(value, path, issues)`."""
        self.result(ind, f"{self.const(fn, 'sub')}({src}, {path_expr(parts)}, issues)", out, bad)

    def result(self, ind: int, call: str, out: Out, bad: str) -> None:
        """Emit `call` (something returning a value or INVALID): INVALID sets `bad`, any
        other result goes to `out`."""
        res = self.var("r")
        self.line(ind, f"{res} = {call}")
        self.line(ind, f"if {res} is INVALID:")
        self.line(ind + 1, f"{bad} = True")
        self.line(ind, "else:")
        self.line(ind + 1, out(res))

    def var(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}{self._counter}"

    def const(self, obj: object, prefix: str = "k") -> str:
        name = self.var("_" + prefix)
        self.ns[name] = obj
        return name

    def line(self, indent: int, text: str) -> None:
        self.lines.append("    " * indent + text)

    def issue(self, indent: int, parts: tuple[str, ...], code: str, message: str) -> None:
        """Emit `issues.append(Issue(<path>, code, message))` with a constant message."""
        self.line(
            indent, f"issues.append(_new(Issue, ({path_expr(parts)}, {code!r}, {message!r})))"
        )

    def type_error(
        self, indent: int, src: str, parts: tuple[str, ...], expected: str, bad: str
    ) -> None:
        self.line(indent, f"issues.append(_ti({path_expr(parts)}, {expected!r}, {src}))")
        self.line(indent, f"{bad} = True")


def path_expr(parts: tuple[str, ...]) -> str:
    """The expression for the full path: the function's `path` plus the parts below it."""
    if not parts:
        return "path"
    return f"path + ({', '.join(parts)},)"


def assign(target: str) -> Out:
    """An `out` that assigns to a local variable or subscript."""
    return lambda expr: f"{target} = {expr}"


def build(
    emit: Callable[[Gen, str, tuple[str, ...], int, Out, str], None],
    name: str,
    *,
    fast: bool = True,
) -> Validator:
    """Generate, compile and return the validator function of one schema (`fast=False`
    leaves out the speculative fast paths: tests compare both)."""
    gen = Gen()
    gen.fast = fast
    gen.line(1, "result = None")
    gen.line(1, "bad = False")
    emit(gen, "value", (), 1, assign("result"), "bad")
    gen.line(1, "return INVALID if bad else result")
    source = "def _validate(value, path, issues):\n" + "\n".join(gen.lines) + "\n"
    code = compile(source, f"<validation schema {name}>", "exec")
    exec(code, gen.ns)  # noqa: S102 -- the source is generated from the schema, never from input
    fn: Validator = gen.ns["_validate"]
    fn.__doc__ = source
    return fn
