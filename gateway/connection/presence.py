"""Presence updates (op 3): the payload, and sending it to the READY shards."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gateway.connection.protocol import Op, ShardStatus
from gateway.connection.shard import Shard, ShardNotReady


def presence_payload(status: str, type: int, name: str) -> dict[str, Any]:
    return {
        "since": None,
        "activities": [{"name": name, "type": type}],
        "status": status,
        "afk": False,
    }


async def send_presence(
    shards: Sequence[Shard], presence: dict[str, Any], only: Sequence[int] | None
) -> int:
    """Op 3 to every READY shard of `only` (default: all), kept for their later IDENTIFYs;
    the shards left out keep theirs. Returns how many were sent; ShardNotReady for none."""
    sent = 0
    for shard in list(shards):
        if only is not None and shard.shard_id not in only:
            continue
        shard.presence = presence
        if shard.status is ShardStatus.READY:
            await shard.send({"op": Op.PRESENCE_UPDATE, "d": presence})
            sent += 1
    if sent == 0:
        raise ShardNotReady("no shard is ready")
    return sent
