"""SHARD_IDS and its rules: pinned shard numbers (each process its own, as before), or `auto`
(the nodes share the shards through leases in REDIS_URL, gateway/connection/leases.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from asgi_app import validation as v

ShardIds = tuple[int, ...] | Literal["auto"]

_PATTERN = r"^\s*(auto|[0-9]+\s*(,\s*[0-9]+\s*)*)\s*$"


def _parse(text: str) -> ShardIds:
    text = text.strip()
    return "auto" if text == "auto" else tuple(int(part) for part in text.split(","))


shard_ids: v.Schema[ShardIds] = (
    v.string()
    .regex(_PATTERN, "must be a comma-separated list of shard numbers, or auto")
    .transform(_parse)
)


def shard_rules(values: Mapping[str, Any], report: v.Reporter) -> None:
    """Pinned: SHARD_COUNT required, each number below it, none twice. `auto`: REDIS_URL
    required; SHARD_COUNT optional (else Discord's recommendation, agreed in Redis)."""
    ids, shard_count = values.get("SHARD_IDS"), values.get("SHARD_COUNT")
    if ids is None:
        return
    if ids == "auto":
        if values.get("REDIS_URL") is None:
            report.add("auto requires REDIS_URL (the nodes share the shards there)", ("SHARD_IDS",))
        return
    if shard_count is None:
        report.add("requires SHARD_COUNT", path=("SHARD_IDS",))
        return
    if not isinstance(ids, tuple) or not isinstance(shard_count, int):
        return  # a field that failed its own schema (reported there) reaches the rule raw
    if any(shard >= shard_count for shard in ids):
        report.add("each shard number must be less than SHARD_COUNT", path=("SHARD_IDS",))
    if len(set(ids)) != len(ids):
        report.add("a shard number is listed twice", path=("SHARD_IDS",))
