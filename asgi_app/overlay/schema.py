"""OverlayData (CONTRACT.md): what POST /overlay accepts and every client receives."""

from __future__ import annotations

from typing import Any

from asgi_app import validation as v
from asgi_app.overlay.state import DEFAULT_STATE, OverlayState

__all__ = ["DEFAULT_STATE", "OVERLAY_DATA", "TEAM", "OverlayState"]

TEAM = v.object(
    {
        "score": v.int().min(0),
        "name": v.string().min(1),
        "primaryColor": v.string().min(1),
        "secondaryColor": v.string().min(1),
        "logoUrl": v.string().min(1),
    }
).passthrough()
"""A team; extra keys the main app adds to a team are kept as they are."""


def _cross_field(data: dict[str, Any], report: v.Reporter) -> None:
    blue, red, max_score = data.get("blue"), data.get("red"), data.get("maxScore")
    if not isinstance(blue, dict) or not isinstance(red, dict):
        return
    if isinstance(blue.get("name"), str) and blue.get("name") == red.get("name"):
        report.add("the two teams must have different names", path=("red", "name"))
    if isinstance(max_score, int):
        for side, team in (("blue", blue), ("red", red)):
            score = team.get("score")
            if isinstance(score, int) and score > max_score:
                report.add("score must not exceed maxScore", path=(side, "score"))


OVERLAY_DATA: v.Schema[OverlayState] = (
    v.object(
        {
            "blue": TEAM,
            "red": TEAM,
            "maxScore": v.int().min(1),
            "cameraControlsCover": v.boolean().optional(),
        }
    )
    .passthrough()
    .super_refine(_cross_field)
)
"""OverlayData: two teams, maxScore >= 1, optional cameraControlsCover, other keys kept."""
