"""What the overlay remembers of its timers for clients that connect later."""

from __future__ import annotations

from pathlib import Path

from asgi_app.overlay import realtime as rt
from asgi_app.overlay.realtime import OverlayRealtime
from asgi_app.overlay.store import build_store


def event(timer_id: str, state: str = "running", now: int = 1_000) -> dict[str, object]:
    return {"id": timer_id, "state": state, "due_at": now + 60_000, "remaining_ms": 60_000,
            "server_now": now}  # fmt: skip


def test_remembered_per_overlay_refreshed_and_cancelled_ones_forgotten(tmp_path: Path) -> None:
    realtime = OverlayRealtime(
        build_store(tmp_path, None), auth_tokens=["t" * 32], origin_url="https://a.example"
    )
    realtime.remember_timer("stream", event("a"))
    realtime.remember_timer("stream", event("b", "paused"))
    realtime.remember_timer("other", event("c"))
    [a, b] = realtime.timer_events("stream")
    assert a["id"] == "a" and isinstance(a["server_now"], int) and a["server_now"] >= 1_000
    assert a["due_at"] == 61_000 and b["remaining_ms"] == 60_000
    realtime.remember_timer("stream", event("a", "cancelled"))
    assert [e["id"] for e in realtime.timer_events("stream")] == ["b"]
    for i in range(rt.TIMERS_PER_OVERLAY + 5):
        realtime.remember_timer("stream", event(f"t{i}"))
    kept = [e["id"] for e in realtime.timer_events("stream")]
    assert len(kept) == rt.TIMERS_PER_OVERLAY and kept[-1] == f"t{rt.TIMERS_PER_OVERLAY + 4}"
