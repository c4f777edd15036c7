"""Validation speed: asgi_app.validation vs pydantic v2 vs marshmallow, same process, same data.

    .venv/bin/python bench/validation_bench.py [--quick]

Cases: an OverlayData body (CONTRACT.md) and a nested list of 1,000 objects, each valid and
invalid. For the invalid inputs every library must report every problem (the counts are
checked before timing). Prints per-call times and the ratios the issue sets targets for:
ours/pydantic (target <= 1.5) and marshmallow/ours (target >= 3).
"""

from __future__ import annotations

import copy
import sys
import time
import timeit
from collections.abc import Callable
from typing import Annotated, Any

import marshmallow as mm
import pydantic
from typing_extensions import TypedDict

from asgi_app import validation as v

# -- the schemas, once per library ---------------------------------------------------------

team = v.object(
    {
        "score": v.int().min(0),
        "name": v.string().min(1),
        "primaryColor": v.string().min(1),
        "secondaryColor": v.string().min(1),
        "logoUrl": v.string().min(1),
    }
)


def _overlay_checks(data: dict[str, Any], report: v.Reporter) -> None:
    if data["blue"]["name"] == data["red"]["name"]:
        report.add("team names must differ", path=("red", "name"))
    for side in ("blue", "red"):
        if data[side]["score"] > data["maxScore"]:
            report.add("must not exceed maxScore", path=(side, "score"), code="too_big")


overlay_ours = (
    v.object(
        {
            "blue": team,
            "red": team,
            "maxScore": v.int().min(1),
            "cameraControlsCover": v.boolean().optional(),
        }
    )
    .passthrough()
    .super_refine(_overlay_checks)
)

item_ours = v.array(
    v.object(
        {
            "id": v.int().min(1),
            "name": v.string().min(1).max(100),
            "active": v.boolean(),
            "score": v.number().min(0),
            "tags": v.array(v.string()),
            "owner": v.object({"id": v.int(), "email": v.string().min(3)}),
        }
    )
)


class PTeam(pydantic.BaseModel):
    score: int = pydantic.Field(ge=0)
    name: str = pydantic.Field(min_length=1)
    primaryColor: str = pydantic.Field(min_length=1)
    secondaryColor: str = pydantic.Field(min_length=1)
    logoUrl: str = pydantic.Field(min_length=1)


class POverlay(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="allow")
    blue: PTeam
    red: PTeam
    maxScore: int = pydantic.Field(ge=1)
    cameraControlsCover: bool | None = None

    @pydantic.model_validator(mode="after")
    def _checks(self) -> POverlay:
        problems = []
        if self.blue.name == self.red.name:
            problems.append("team names must differ")
        for side in (self.blue, self.red):
            if side.score > self.maxScore:
                problems.append("score must not exceed maxScore")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class POwner(pydantic.BaseModel):
    id: int
    email: str = pydantic.Field(min_length=3)


class PItem(pydantic.BaseModel):
    id: int = pydantic.Field(ge=1)
    name: str = pydantic.Field(min_length=1, max_length=100)
    active: bool
    score: float = pydantic.Field(ge=0)
    tags: list[str]
    owner: POwner


pitems = pydantic.TypeAdapter(list[PItem])


# The same items as TypedDicts: pydantic's fastest mode (plain dicts out, no model instances).
class TOwner(TypedDict):
    id: int
    email: Annotated[str, pydantic.Field(min_length=3)]


class TItem(TypedDict):
    id: Annotated[int, pydantic.Field(ge=1)]
    name: Annotated[str, pydantic.Field(min_length=1, max_length=100)]
    active: bool
    score: Annotated[float, pydantic.Field(ge=0)]
    tags: list[str]
    owner: TOwner


pitems_dict = pydantic.TypeAdapter(list[TItem])


class MTeam(mm.Schema):
    score = mm.fields.Integer(required=True, strict=True, validate=mm.validate.Range(min=0))
    name = mm.fields.String(required=True, validate=mm.validate.Length(min=1))
    primaryColor = mm.fields.String(required=True, validate=mm.validate.Length(min=1))
    secondaryColor = mm.fields.String(required=True, validate=mm.validate.Length(min=1))
    logoUrl = mm.fields.String(required=True, validate=mm.validate.Length(min=1))


class MOverlay(mm.Schema):
    class Meta:
        unknown = mm.INCLUDE

    blue = mm.fields.Nested(MTeam, required=True)
    red = mm.fields.Nested(MTeam, required=True)
    maxScore = mm.fields.Integer(required=True, strict=True, validate=mm.validate.Range(min=1))
    cameraControlsCover = mm.fields.Boolean()

    @mm.validates_schema(skip_on_field_errors=False)
    def _checks(self, data: dict[str, Any], **_: Any) -> None:
        blue, red = data.get("blue"), data.get("red")
        if blue and red and blue.get("name") == red.get("name"):
            raise mm.ValidationError("team names must differ", "red")


class MOwner(mm.Schema):
    id = mm.fields.Integer(required=True, strict=True)
    email = mm.fields.String(required=True, validate=mm.validate.Length(min=3))


class MItem(mm.Schema):
    id = mm.fields.Integer(required=True, strict=True, validate=mm.validate.Range(min=1))
    name = mm.fields.String(required=True, validate=mm.validate.Length(min=1, max=100))
    active = mm.fields.Boolean(required=True)
    score = mm.fields.Float(required=True, validate=mm.validate.Range(min=0))
    tags = mm.fields.List(mm.fields.String(), required=True)
    owner = mm.fields.Nested(MOwner, required=True)


m_overlay = MOverlay()
m_items = MItem(many=True)

# -- the data ---------------------------------------------------------------------------------


def _team(name: str, score: int) -> dict[str, Any]:
    return {
        "score": score,
        "name": name,
        "primaryColor": "#1e3a8a",
        "secondaryColor": "#93c5fd",
        "logoUrl": f"https://cdn.example.com/logos/{name.lower()}.png",
    }


OVERLAY_OK: dict[str, Any] = {
    "blue": _team("Blue Team", 1),
    "red": _team("Red Team", 0),
    "maxScore": 2,
    "cameraControlsCover": False,
    "round": "Week 3",
}
# Five problems: a negative score, an empty name, a wrong type, a missing key, a bad maxScore.
OVERLAY_BAD = copy.deepcopy(OVERLAY_OK)
OVERLAY_BAD["blue"]["score"] = -1
OVERLAY_BAD["red"]["name"] = ""
OVERLAY_BAD["red"]["primaryColor"] = 7
del OVERLAY_BAD["red"]["logoUrl"]
OVERLAY_BAD["maxScore"] = 0
OVERLAY_BAD_COUNT = 5

ITEMS_OK: list[dict[str, Any]] = [
    {
        "id": i + 1,
        "name": f"item {i}",
        "active": i % 2 == 0,
        "score": i * 1.5,
        "tags": ["a", "b", "c"],
        "owner": {"id": i, "email": f"user{i}@example.com"},
    }
    for i in range(1000)
]
ITEMS_BAD = copy.deepcopy(ITEMS_OK)
for _i in range(0, 1000, 10):  # 100 items with two problems each
    ITEMS_BAD[_i]["id"] = 0
    ITEMS_BAD[_i]["owner"]["email"] = "x"
ITEMS_BAD_COUNT = 200


# -- error counting (every problem must be found, or the timing is meaningless) -------------


def _ours_errors(schema: v.Schema[Any], data: Any) -> int:
    result = schema.safe_parse(data)
    return 0 if result.error is None else len(result.error.issues)


def _pydantic_errors(validate: Callable[[Any], Any], data: Any) -> int:
    try:
        validate(data)
    except pydantic.ValidationError as error:
        return error.error_count()
    return 0


def _mm_leaves(messages: Any) -> int:
    if isinstance(messages, dict):
        return sum(_mm_leaves(item) for item in messages.values())
    if isinstance(messages, list) and messages and not isinstance(messages[0], str):
        return sum(_mm_leaves(item) for item in messages)
    return 1


def _mm_errors(schema: mm.Schema, data: Any) -> int:
    try:
        schema.load(data)
    except mm.ValidationError as error:
        return _mm_leaves(error.messages)
    return 0


def _time_together(fns: list[Callable[[], None]], quick: bool) -> list[float]:
    """Best per-call CPU time (microseconds) of each function, measured in interleaved
    rounds so that a change in machine load affects all of them alike."""
    # CPU time of this process: on a shared machine, time spent descheduled is not ours.
    timers = [timeit.Timer(fn, timer=time.process_time) for fn in fns]
    numbers = [max(1, timer.autorange()[0] // 4) for timer in timers]
    best = [float("inf")] * len(fns)
    for _ in range(5 if quick else 15):
        for i, timer in enumerate(timers):
            best[i] = min(best[i], timer.timeit(numbers[i]) / numbers[i])
    return [t * 1e6 for t in best]


def _swallow(
    fn: Callable[[Any], object], data: Any, errors: tuple[type[BaseException], ...]
) -> Callable[[], None]:
    def run() -> None:
        try:
            fn(data)
        except errors:
            pass

    return run


# name, data, expected issue count, ours, pydantic (models), pydantic (TypedDict), marshmallow
Case = tuple[
    str, Any, int, v.Schema[Any], Callable[[Any], Any], Callable[[Any], Any] | None, mm.Schema
]


def main() -> int:
    quick = "--quick" in sys.argv
    overlay = (overlay_ours, POverlay.model_validate, None, m_overlay)
    items = (item_ours, pitems.validate_python, pitems_dict.validate_python, m_items)
    cases: list[Case] = [
        ("overlay valid", OVERLAY_OK, 0, *overlay),
        ("overlay invalid", OVERLAY_BAD, OVERLAY_BAD_COUNT, *overlay),
        ("1000 objects valid", ITEMS_OK, 0, *items),
        ("1000 objects invalid", ITEMS_BAD, ITEMS_BAD_COUNT, *items),
    ]
    print("best CPU time per call in microseconds; pyd = pydantic models, pyd-TD = TypedDicts")
    print(
        f"{'case':22} {'ours':>9} {'pyd':>9} {'pyd-TD':>9} {'marshm.':>9} "
        f"{'ours/pyd':>9} {'ours/TD':>8} {'mm/ours':>8}  errors ours/pyd/mm"
    )
    failed = False
    for name, data, expected, ours, pyd, pyd_td, mms in cases:
        counts = (_ours_errors(ours, data), _pydantic_errors(pyd, data), _mm_errors(mms, data))
        if counts[0] != expected:
            print(f"{name}: ours found {counts[0]} problems, expected {expected}")
            failed = True
        runs = [
            _swallow(ours.parse, data, (v.ValidationError,)),
            _swallow(pyd, data, (pydantic.ValidationError,)),
            _swallow(mms.load, data, (mm.ValidationError,)),
        ]
        if pyd_td is not None:
            runs.append(_swallow(pyd_td, data, (pydantic.ValidationError,)))
        times = _time_together(runs, quick)
        t_ours, t_pyd, t_mm = times[:3]
        t_td = f"{times[3]:9.1f}" if pyd_td is not None else f"{'-':>9}"
        r_td = f"{t_ours / times[3]:8.2f}" if pyd_td is not None else f"{'-':>8}"
        print(
            f"{name:22} {t_ours:9.1f} {t_pyd:9.1f} {t_td} {t_mm:9.1f} "
            f"{t_ours / t_pyd:9.2f} {r_td} {t_mm / t_ours:8.1f}  "
            f"{counts[0]}/{counts[1]}/{counts[2]}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
