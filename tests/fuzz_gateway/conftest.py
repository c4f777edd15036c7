"""Fixtures: the gateway tests' simulator/shard/manager fixtures (fast timings), reused."""

from __future__ import annotations

from tests.gateway.conftest import make_manager, make_shard, make_sim, sim

__all__ = ["make_manager", "make_shard", "make_sim", "sim"]
