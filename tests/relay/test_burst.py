"""1,000 interactions in a burst while the main app takes 5 s per request: every one is
acknowledged within 3 s of its dispatch (simulator clock: dispatch written -> callback read).

The simulator, the main app and the relay share one event loop here, and httpx costs about
2 ms of CPU per request on this machine, so the dispatch rate is whatever the shared loop
allows (paced at 1,000/s at most; printed). See docs/PERFORMANCE.md "Interaction relay"."""

from __future__ import annotations

import asyncio

from gateway.simulator import factory
from tests.relay.support import MainApp, percentile, relay_stack, until

BURST = 1000


async def test_burst_of_1000_is_acknowledged_within_3s_while_the_main_app_is_slow() -> None:
    main = MainApp(delay=5.0)
    async with relay_stack(main, forward_timeout=10.0, max_concurrent_forwards=100) as stack:
        loop = asyncio.get_running_loop()
        start = loop.time()
        sent = []
        for i in range(BURST):
            payload = factory.command()
            sent.append(await stack.send(payload))
            if i % 10 == 9:  # pace at 1,000/s at most (the shared loop may make it slower)
                await asyncio.sleep(max(0.0, start + (i + 1) / BURST - loop.time()))
        dispatch_time = loop.time() - start
        records = [stack.sim.interaction(s["id"]) for s in sent]
        await until(lambda: all(r is not None and r.callbacks for r in records), 60)
        latencies = [r.ack_latency for r in records if r is not None and r.ack_latency is not None]
        refused = [
            (r.type, r.callbacks[0].status, r.callbacks[0].at - (r.sent_at or 0))
            for r in records
            if r is not None and r.acked_at is None
        ]
        assert not refused, f"{len(refused)} acknowledgements refused, e.g. {refused[:5]}"
        assert len(latencies) == BURST
        p50, p99, worst = percentile(latencies, 50), percentile(latencies, 99), max(latencies)
        print(
            f"\nburst {BURST} in {dispatch_time:.2f}s, main app 5 s/request:"
            f" ack p50 {p50 * 1000:.1f} ms p99 {p99 * 1000:.1f} ms max {worst * 1000:.1f} ms"
        )
        assert worst < 3.0
        assert all(r is not None and r.ack_type == 5 for r in records)
        # and every forward still reached the slow main app and succeeded
        await stack.settle(BURST, timeout=120)
        assert stack.relay.stats.forwards["ok"] == BURST
        assert len(main.requests) == BURST
        assert stack.relay.stats.ack_latency.count == BURST
