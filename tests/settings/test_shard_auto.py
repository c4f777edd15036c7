"""SHARD_IDS=auto: the nodes share the shards through leases in Redis, so it needs REDIS_URL
(a start-up error naming SHARD_IDS otherwise); SHARD_COUNT is optional with it; pinned
SHARD_IDS behave as before; SHARD_LEASE_SECONDS (test-only) shortens the lease."""

from __future__ import annotations

import pytest

from asgi_app.nodes import pinned_shards, shard_leases
from asgi_app.settings import Settings, SettingsError, load_settings
from gateway.connection.lease import LeaseTimings

PROD = {
    "BOT_TOKEN": "bot-token-for-the-settings-tests",
    "AUTH_TOKEN": "auth-token-for-the-settings-tests-0123456789",
    "ORIGIN_URL": "https://league.example.com",
}
REDIS = {"REDIS_URL": "redis://127.0.0.1:6379/0"}


def load(env: dict[str, str]) -> Settings:
    return load_settings(env, env_file=None)


def problems(env: dict[str, str]) -> list[str]:
    with pytest.raises(SettingsError) as caught:
        load(env)
    return caught.value.problems


def test_auto_needs_redis_url_and_names_shard_ids() -> None:
    assert problems({**PROD, "SHARD_IDS": "auto"}) == [
        "SHARD_IDS: auto requires REDIS_URL (the nodes share the shards there)"
    ]
    assert problems({**PROD, "SHARD_IDS": "auto", "SHARD_COUNT": "8"}) == [
        "SHARD_IDS: auto requires REDIS_URL (the nodes share the shards there)"
    ]


def test_auto_with_redis_takes_shard_count_or_leaves_it_to_discord() -> None:
    s = load({**PROD, **REDIS, "SHARD_IDS": " auto "})
    assert s.shard_ids == "auto" and s.shard_count is None and pinned_shards(s) is None
    s = load({**PROD, **REDIS, "SHARD_IDS": "auto", "SHARD_COUNT": "8"})
    assert s.shard_count == 8 and s.shard_lease_seconds == 15.0
    leases = shard_leases(s, REDIS["REDIS_URL"], "n1")
    assert leases is not None and leases.timings == LeaseTimings()
    assert leases.configured_count == 8


def test_pinned_shard_ids_are_as_before() -> None:
    s = load({**PROD, **REDIS, "SHARD_IDS": "0,2", "SHARD_COUNT": "4"})
    assert s.shard_ids == (0, 2) and pinned_shards(s) == [0, 2]
    assert shard_leases(s, REDIS["REDIS_URL"], "n1") is None
    assert load(PROD).shard_ids is None and shard_leases(load(PROD), None, "n1") is None


def test_the_lease_can_be_shortened_for_tests_only_within_bounds() -> None:
    s = load({**PROD, **REDIS, "SHARD_IDS": "auto", "SHARD_LEASE_SECONDS": "3"})
    leases = shard_leases(s, REDIS["REDIS_URL"], "n1")
    assert leases is not None
    t = leases.timings
    assert (t.ttl, t.renew, t.margin) == (3.0, 1.0, 0.2)
    assert problems({**PROD, "SHARD_LEASE_SECONDS": "0.5"}) == [
        "SHARD_LEASE_SECONDS: must be at least 1"
    ]


def test_auto_against_the_embedded_simulator_runs_every_shard_here() -> None:
    s = load({"APP_ENV": "development", **REDIS, "SHARD_IDS": "auto"})
    assert s.use_simulator and shard_leases(s, None, "n1") is None
