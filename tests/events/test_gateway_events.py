"""Gateway events over real sockets: the simulator dispatches, the server forwards to a
recording main app (CONTRACT "Gateway events for the main app")."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import orjson
import pytest

from gateway.connection.session import FILE_NAME
from gateway.simulator import DiscordSimulator
from tests.endpoint.node_verify import verify_key
from tests.events.support import ALL_INTENTS, EventsMainApp, events_app
from tests.support.harness.redis_server import redis_server
from tests.support.tools import require_tool
from tests.support.waiting import eventually

G1, G2 = "1100000000000000001", "1100000000000000011"
C1, C2 = "1100000000000000002", "1100000000000000012"
V1, V2 = "1100000000000000005", "1100000000000000015"
BOT = "1000"  # the simulator's bot user id
MARK: dict[str, Any] = {"MESSAGE_DELETE": {}}  # the last event of a test: all before it was handled


async def test_each_event_type_with_its_filters(tmp_path: Path) -> None:
    forwards = {
        "GUILD_MEMBER_ADD": {"guilds": [G1]},
        "GUILD_MEMBER_REMOVE": {},
        "MESSAGE_CREATE": {"channels": [C1], "content_prefix": "!"},
        "MESSAGE_UPDATE": {"bots": True},
        "MESSAGE_REACTION_ADD": {},
        "MESSAGE_REACTION_REMOVE": {},
        "VOICE_STATE_UPDATE": {"channels": [V1]},
        **MARK,
    }
    async with events_app(tmp_path, forwards) as (running, main):
        ev = running.sim.guild_events
        wanted: list[Any] = [
            await ev.member_add(G1, "11"),
            await ev.member_remove(G2, "12"),
            await ev.message_create(G1, C1, "!pick pikachu"),
            await ev.message_update(G1, C2, "edited by a bot", bot=True),
            await ev.reaction_add(G1, C1, "31", user_id="13"),
            await ev.reaction_remove(G1, C1, "31", user_id="13"),
            await ev.voice_state_update(G1, V1, user_id="14"),
            await ev.voice_state_update(G1, None, user_id="14"),  # leaves: passes `channels`
        ]
        left_out = [
            await ev.member_add(G2, "21"),  # guild not listed
            await ev.message_create(G1, C2, "!pick raichu"),  # channel not listed
            await ev.message_create(G1, C1, "no prefix"),
            await ev.message_create(G1, C1, "!a bot", bot=True),  # bots: false by default
            await ev.reaction_add(G1, C1, "31", user_id="22", bot=True),
            await ev.reaction_remove(G1, C1, "31", user_id=BOT),  # this bot itself
            await ev.voice_state_update(G1, V2, user_id="23"),
        ]
        assert all(s is not None for s in wanted + left_out)
        last = await ev.message_delete(G1, C1, "41")
        assert last is not None
        await eventually(lambda: last.seq in [int(i.split(":")[1]) for i in main.delivered_ids()])
        got = main.delivered()
        assert [e["type"] for e in got] == [s.name for s in wanted] + ["MESSAGE_DELETE"]
        for event, sent in zip(got, [*wanted, last], strict=True):
            assert event["data"] == sent.data  # as Discord sent it
            assert event["source"] == "gateway" and event["shard"] == 0
            assert event["guild_id"] == G1 if sent.name != "GUILD_MEMBER_REMOVE" else G2
            assert isinstance(event["received_at"], int)
        assert len({e["id"] for e in got}) == len(got)
        assert all(b.signed and b.attempt == 1 for b in main.batches)
        assert all("authorization" not in b.headers for b in main.batches)
        assert all(b.headers["traceparent"].startswith("00-") for b in main.batches)
        stats = running.app.services.running.events.stats
        assert stats.filtered == len(left_out)
        # discord-interactions' verifyKey (npm) takes a batch as it takes a forward
        batch = main.batches[0]
        stamp, signature = (
            batch.headers["x-signature-timestamp"],
            batch.headers["x-signature-ed25519"],
        )
        assert main.public_key is not None
        assert await verify_key([(batch.raw, signature, stamp, main.public_key)]) == [True]


async def test_without_message_content_the_content_arrives_empty(tmp_path: Path) -> None:
    async with events_app(tmp_path, {"MESSAGE_CREATE": {}}, GATEWAY_INTENTS="1") as (running, main):
        # GUILD_MESSAGES was added for MESSAGE_CREATE; MESSAGE_CONTENT was not asked for
        [identify] = running.sim.identifies
        assert identify.payload["d"]["intents"] == 1 | (1 << 9)
        sent = await running.sim.guild_events.message_create(G1, C1, "!pick pikachu")
        assert sent is not None
        await eventually(lambda: main.delivered())
        assert main.delivered()[0]["data"]["content"] == ""


@pytest.mark.parametrize(("batch_max", "wait_ms"), [(1, 0), (10, 100)], ids=["batch1", "shared"])
async def test_1000_events_over_20_guilds_with_one_guild_failing(
    tmp_path: Path, batch_max: int, wait_ms: int
) -> None:
    batching = batch_max > 1
    guilds = [str((n + 1) << 22) for n in range(20)]
    bad = guilds[7]
    failing = {"on": True}

    def status_for(events: list[dict[str, Any]]) -> int:
        return 500 if failing["on"] and any(e["guild_id"] == bad for e in events) else 200

    main = EventsMainApp(status_for=status_for)
    async with events_app(
        tmp_path,
        {"MESSAGE_CREATE": {}},
        main=main,
        EVENTS_BATCH_MAX=str(batch_max),
        EVENTS_BATCH_WAIT_MS=str(wait_ms),
    ) as (running, _):
        sent: dict[str, list[str]] = {g: [] for g in guilds}
        for n in range(1000):
            guild = guilds[n % 20]
            data = running.sim.guild_events.message(guild, C1, f"m{n}")
            await running.sim.dispatch("MESSAGE_CREATE", data)
            sent[guild].append(f"m{n}")
            if batching and guild == guilds[-1]:
                await asyncio.sleep(0.02)  # trickling: lanes wait to fill, and share POSTs
        others = [g for g in guilds if g != bad]

        def by_guild() -> dict[str, list[str]]:
            found: dict[str, list[str]] = {g: [] for g in guilds}
            for event in main.delivered():
                found[event["guild_id"]].append(event["data"]["content"])
            return found

        await eventually(lambda: all(len(by_guild()[g]) == 50 for g in others), 30)
        assert by_guild()[bad] == []
        for guild in others:
            assert by_guild()[guild] == sent[guild]
        failing["on"] = False
        await eventually(lambda: len(by_guild()[bad]) == 50, 30)
        assert by_guild()[bad] == sent[bad]
        assert len(main.delivered_ids()) == len(set(main.delivered_ids())) == 1000
        if not batching:
            assert all(len({e["guild_id"] for e in b.events}) == 1 for b in main.batches)
            return
        # several guilds a POST, at most 10 events; the failing guild's first failure split
        assert all(len(b.events) <= 10 for b in main.batches)
        assert any(len({e["guild_id"] for e in b.events}) > 1 for b in main.batches)
        assert len([b for b in main.batches if b.status == 200]) < 1000 / 5
        metrics = (await running.http.get("/metrics")).text
        shared = _metric(metrics, "events_shared_posts_total")
        assert shared > 0 and 1 <= _metric(metrics, "events_shared_posts_split_total") < shared


def _metric(text: str, name: str) -> float:
    [value] = [line.split()[-1] for line in text.splitlines() if line.startswith(name + " ")]
    return float(value)


async def test_a_resume_replay_delivers_nothing_twice(tmp_path: Path) -> None:
    """Drops while dispatching (each RESUME replays what the socket missed), then a restart
    whose saved checkpoint is older than what was journaled (as after a SIGKILL): the resume
    replays dispatches already delivered; none is delivered again, none is missing."""
    sim = DiscordSimulator(heartbeat_interval_ms=500, allowed_privileged_intents=ALL_INTENTS)
    main = EventsMainApp()
    seqs: list[int] = []
    async with sim:
        async with events_app(tmp_path, {"MESSAGE_CREATE": {}}, main=main, sim=sim) as (run, _):
            for n in range(60):
                if n % 15 == 10:
                    await sim.wait_ready()  # resumed: what came meanwhile was replayed
                data = sim.guild_events.message(G1, C1, f"m{n}")
                seqs.append(await sim.dispatch("MESSAGE_CREATE", data))
                if n % 15 == 7 and n < 40:
                    await sim.wait_ready()
                    await sim.drop_connection()
            await eventually(lambda: len(main.delivered()) == 60, 15)
            assert len(sim.resumes) == 3
        saved = tmp_path / FILE_NAME
        body = orjson.loads(saved.read_bytes())
        assert body["sessions"][0]["seq"] >= seqs[-1]
        # An older checkpoint (after the last RESUMED): 19 dispatches are replayed again.
        body["sessions"][0]["seq"] = seqs[40]
        saved.write_bytes(orjson.dumps(body))
        for n in range(60, 70):  # while the server is down: buffered for the resume
            data = sim.guild_events.message(G1, C1, f"m{n}")
            seqs.append(await sim.dispatch("MESSAGE_CREATE", data))
        async with events_app(tmp_path, {"MESSAGE_CREATE": {}}, main=main, sim=sim) as (run, _):
            await eventually(lambda: len(main.delivered()) >= 70, 15)
            await asyncio.sleep(0.3)  # a second delivery would come now
            stats = run.app.services.running.events.stats
            assert stats.duplicates == {"MESSAGE_CREATE": 19}
        assert len(sim.identifies) == 1  # resumed every time
    contents = [e["data"]["content"] for e in main.delivered()]
    assert contents == [f"m{n}" for n in range(70)]
    assert len(set(main.delivered_ids())) == 70


@pytest.mark.parametrize("journal", ["sqlite", "redis"])
async def test_what_was_pending_is_delivered_after_a_restart(tmp_path: Path, journal: str) -> None:
    env: dict[str, str] = {}
    async with contextlib.AsyncExitStack() as stack:
        if journal == "redis":
            require_tool("redis-server")
            env["REDIS_URL"] = await stack.enter_async_context(redis_server())
        sim = DiscordSimulator(heartbeat_interval_ms=500, allowed_privileged_intents=ALL_INTENTS)
        await stack.enter_async_context(sim)
        down = EventsMainApp(status_for=lambda events: 503)
        async with events_app(tmp_path, {"MESSAGE_CREATE": {}}, main=down, sim=sim, **env) as (
            running,
            _,
        ):
            for n in range(5):
                await sim.guild_events.message_create(G1, C1, f"m{n}")
            await eventually(lambda: len(down.batches) >= 1, 5)
            pending = running.app.services.running.events.pending
            assert pending == 5
        up = EventsMainApp()
        async with events_app(tmp_path, {"MESSAGE_CREATE": {}}, main=up, sim=sim, **env):
            await eventually(lambda: len(up.delivered()) == 5, 10)
        assert [e["data"]["content"] for e in up.delivered()] == [f"m{n}" for n in range(5)]
        first_ids = {e["id"] for b in down.batches for e in b.events}
        assert {e["id"] for e in up.delivered()} >= first_ids  # the same ids as before
