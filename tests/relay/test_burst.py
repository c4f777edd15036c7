"""1,000 interactions in one second while the main app takes 5 s per request: every one is
acknowledged within 3 s of its dispatch (simulator clock: dispatch frame written -> callback
request read), for a mix of commands, buttons (cooldown clicks included) and modals.

Twice: with the simulator and the stand-in main app in this event loop (their CPU counts
against the relay), and in a child process (the relay's process only). p50/p99 are printed
(`pytest -s`); docs/PERFORMANCE.md "Interaction relay" has the figures and the bench command."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.support.harness.main_app import MainApp
from tests.support.harness.relay_stack import percentile, relay_stack, until, wired_relay
from tests.support.harness.sim_process import mixed, sim_process

BURST = 1000
WINDOW = 3.0


def expected_ack(interaction: dict[str, Any], first_click: set[str]) -> int:
    kind = interaction["type"]
    if kind == 2:
        return 5
    if kind == 3:
        message_id = interaction["message"]["id"]
        if message_id in first_click:
            return 4  # the cooldown reply
        first_click.add(message_id)
        return 6
    return 6 if "message" in interaction else 5


def summary(where: str, took: float, latencies: list[float]) -> str:
    p50, p99, worst = (percentile(latencies, p) * 1000 for p in (50, 99, 100))
    return (
        f"\n{where}: burst {BURST} mixed in {took:.2f}s, main app 5 s/request:"
        f" ack p50 {p50:.1f} ms p99 {p99:.1f} ms max {worst:.1f} ms"
    )


async def test_mixed_burst_of_1000_in_one_loop_is_acknowledged_within_3s() -> None:
    main = MainApp(delay=5.0)
    async with relay_stack(main, forward_timeout=10.0, max_concurrent_forwards=200) as stack:
        loop = asyncio.get_running_loop()
        start = loop.time()
        sent = []
        for i in range(BURST):
            sent.append(await stack.send(mixed(i)))
            if i % 10 == 9:  # 1,000/s at most (slower only if the shared loop cannot keep up)
                await asyncio.sleep(max(0.0, start + (i + 1) / BURST - loop.time()))
        took = loop.time() - start
        found = [stack.sim.interaction(s["id"]) for s in sent]
        records = [r for r in found if r is not None]
        assert len(records) == BURST
        await until(lambda: all(r.callbacks for r in records), 60)
        latencies = [r.callbacks[0].at - (r.sent_at or 0.0) for r in records]
        print(summary("one loop", took, latencies))
        assert max(latencies) < WINDOW
        assert all(r.sent_at is not None and r.acked_at is not None for r in records)
        first_click: set[str] = set()
        assert [r.ack_type for r in records] == [expected_ack(s, first_click) for s in sent]
        cooldowns = sum(1 for r in records if r.ack_type == 4)
        assert cooldowns == BURST // 5 - 1
        # The relay counts an acknowledgement when Discord's answer reaches it, a moment after
        # the simulator recorded the request.
        await until(lambda: stack.relay.stats.ack_latency.count == BURST, 10)
        # every forward (all but the cooldown clicks) still reached the slow main app, once
        await stack.settle(BURST, timeout=120)
        forwards = stack.relay.stats.forwards
        assert forwards["ok"] + forwards["retried_ok"] == BURST - cooldowns  # a loaded machine
        assert forwards["cooldown"] == cooldowns  # may make a 5 s answer time out once
        assert len({r.headers["x-interaction-id"] for r in main.requests}) == BURST - cooldowns


async def test_mixed_burst_of_1000_with_the_simulator_in_its_own_process() -> None:
    async with (
        sim_process(main_delay=5.0) as sim,
        wired_relay(sim.api_base, sim.token, sim.main_base, forward_timeout=10.0) as wired,
    ):
        answer = await sim.call("burst", count=BURST, rate=float(BURST), mix="mixed")
        ids = answer["ids"]
        assert (await sim.call("wait_acked", ids=ids, timeout=60))["ok"]
        rows = (await sim.call("results", ids=ids))["rows"]
        latencies = [first - sent for _kind, sent, first, _ack in rows]
        print(summary("child process", answer["took"], latencies))
        assert max(latencies) < WINDOW
        assert sorted({ack for *_, ack in rows}) == [4, 5, 6]
        assert wired.relay.stats.ack_latency.count == BURST
        assert wired.relay.stats.ack_failures == 0
        await wired.relay.drain(0)  # cancels the 5 s forwards: they are not what this measures
