"""What the simulator's IDENTIFY checks and READY carries: the shard field, READY's data."""

from __future__ import annotations

from typing import Any

from gateway.simulator.config import SimConfig
from gateway.simulator.sessions import Session


def ready_data(cfg: SimConfig, session: Session, resume_url: str) -> dict[str, Any]:
    return {
        "v": 10,
        "user": {
            "id": cfg.bot_user_id,
            "username": cfg.bot_username,
            "discriminator": "0",
            "global_name": None,
            "avatar": None,
            "bot": True,
            "verified": True,
            "flags": 0,
        },
        "guilds": [],
        "session_id": session.session_id,
        "resume_gateway_url": resume_url,
        "shard": list(session.shard),
        "application": {"id": cfg.application_id, "flags": 0},
        "private_channels": [],
        "relationships": [],
        "presences": [],
        "user_settings": {},
        "guild_join_requests": [],
        "geo_ordered_rtc_regions": ["simulated"],
        "_trace": ['["discord-simulator",{"micros":0}]'],
    }


def parse_shard(value: Any) -> tuple[int, int] | None:
    ok = (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(x, int) and not isinstance(x, bool) for x in value)
    )
    if not ok or not (value[1] >= 1 and 0 <= value[0] < value[1]):
        return None
    return (value[0], value[1])
