"""`Schema[T]`, the base of every kind, with the methods every schema offers: parse,
safe_parse, json_schema, and the wrappers (optional, nullable, default, refine, super_refine,
transform, pipe, describe; their classes live in `wrappers.py`)."""

from __future__ import annotations

import copy
import enum
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Self, TypeVar

from .codegen import Gen, Out, Validator, build
from .issues import Issue, ParseResult, PathPart, ValidationError

if TYPE_CHECKING:
    from .wrappers import Reporter

T = TypeVar("T")
U = TypeVar("U")

DIALECT = "https://json-schema.org/draft/2020-12/schema"


class Presence(enum.Enum):
    """What a schema does with an absent value (an object key that is not there)."""

    #: Absent is an error the caller reports ("required") before running the schema.
    REQUIRED = "required"
    #: Absent is an error the schema's own code reports (its type test sees MISSING).
    CHECKED = "checked"
    #: The value may be absent (optional, default, any): the schema handles MISSING itself.
    OPTIONAL = "optional"


class Schema(Generic[T]):
    """A compiled-on-first-use validator that turns untrusted input into a `T`.

    Schemas are immutable: every method returns a new schema.
    """

    kind: ClassVar[str] = "schema"
    presence: Presence = Presence.REQUIRED

    _description: str | None = None
    _fn: Validator | None = None

    # -- what every kind implements -------------------------------------------------------
    def _emit(self, g: Gen, src: str, parts: tuple[str, ...], ind: int, out: Out, bad: str) -> None:
        raise NotImplementedError

    def _json(self) -> dict[str, Any]:
        raise NotImplementedError

    def _fast_test(self, g: Gen, src: str) -> str | None:
        """An expression true exactly when `src` is valid and its output is `src` itself
        (lets arrays of such items skip building a new list item by item); None if the
        kind has no such test."""
        return None

    def _missing_test(self, src: str) -> str:
        """An expression true when `src` counts as absent (coercion also counts blank text)."""
        return f"{src} is MISSING"

    @property
    def stops_on_issues(self) -> bool:
        """Whether any issue inside stops what follows (pipes and transforms, as in Zod)."""
        return False

    @property
    def may_be_absent(self) -> bool:
        """Whether an object key of this schema may be missing (optional, default, any)."""
        return self.presence is Presence.OPTIONAL

    # -- public API -------------------------------------------------------------------------
    def validator(self) -> Validator:
        """The compiled function `(value, path, issues) -> value | INVALID` (built once)."""
        fn = self._fn
        if fn is None:
            fn = self._fn = build(self._emit, self.kind)
        return fn

    def parse(self, value: object) -> T:
        """Return the validated (and stripped/transformed) value or raise ValidationError."""
        issues: list[Issue] = []
        result = (self._fn or self.validator())(value, (), issues)
        if issues:
            raise ValidationError(issues)
        out: T = result
        return out

    def safe_parse(self, value: object) -> ParseResult[T]:
        issues: list[Issue] = []
        result = (self._fn or self.validator())(value, (), issues)
        if issues:
            return ParseResult(False, None, ValidationError(issues))
        return ParseResult(True, result, None)

    def json_schema(self, *, root: bool = True) -> dict[str, Any]:
        """A JSON Schema (draft 2020-12) describing the accepted input."""
        schema = self._schema()
        return {"$schema": DIALECT, **schema} if root else schema

    def _schema(self) -> dict[str, Any]:
        schema = self._json()
        if self._description is not None:
            schema = {**schema, "description": self._description}
        return schema

    def describe(self, text: str) -> Self:
        clone = self._clone()
        clone._description = text
        return clone

    def _clone(self) -> Self:
        clone = copy.copy(self)
        clone._fn = None
        return clone

    def optional(self) -> Schema[T | None]:
        """The object key may be absent (it is then left out of the output)."""
        from .wrappers import OptionalSchema

        return OptionalSchema(self)

    def nullable(self) -> Schema[T | None]:
        from .wrappers import NullableSchema

        return NullableSchema(self)

    def default(self, value: T) -> Schema[T]:
        """Use `value` when the key is absent (mutable values are deep-copied per use)."""
        from .wrappers import DefaultSchema

        return DefaultSchema(self, value, None)

    def default_factory(self, factory: Callable[[], T]) -> Schema[T]:
        from .wrappers import DefaultSchema

        return DefaultSchema(self, None, factory)

    def refine(
        self,
        check: Callable[[T], bool],
        message: str = "invalid value",
        *,
        path: Sequence[PathPart] = (),
        code: str = "custom",
        abort: bool = False,
    ) -> Schema[T]:
        """Add a check; when it returns false (or raises ValueError/TypeError) an issue is
        reported at this schema's path plus `path`. Runs only when the inner value could be
        read (type errors abort, range errors do not), so cross-field checks on objects still
        report alongside field issues."""
        from .wrappers import RefineSchema

        return RefineSchema(self, check, message, tuple(path), code, abort)

    def super_refine(self, check: Callable[[T, Reporter], None]) -> Schema[T]:
        """Like refine, but `check(value, report)` may report any number of issues with
        `report.add(message, path=(...), code="custom")`."""
        from .wrappers import SuperRefineSchema

        return SuperRefineSchema(self, check)

    def transform(self, fn: Callable[[T], U]) -> Schema[U]:
        """Map the valid value; a ValueError/TypeError from `fn` becomes a custom issue."""
        from .wrappers import TransformSchema

        return TransformSchema(self, fn)

    def pipe(self, then: Schema[U]) -> Schema[U]:
        """Validate this schema's output with `then` (only when this schema had no issue)."""
        from .wrappers import PipeSchema

        return PipeSchema(self, then)
