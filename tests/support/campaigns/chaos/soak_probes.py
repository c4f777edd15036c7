"""What the chaos soak measures and sends: reconnect gaps, live tasks, RSS, the server's own
allocations, and the mix of interactions it dispatches."""

import asyncio
import itertools
import tracemalloc
from collections import Counter
from typing import Any

from gateway.simulator import DiscordSimulator, factory

#: Allocation sites that belong to the server (not the simulator, the clients or this harness).
SERVER_FILES = ("*/asgi_app/*", "*/gateway/*")
NOT_SERVER_FILES = ("*/gateway/simulator/*", "*/tests/*", "*/bench/*")


def reconnect_gaps(sim: DiscordSimulator) -> list[float]:
    """Seconds from each gateway connection's close to the next connection's opening."""
    conns = sorted(sim.connections, key=lambda c: c.opened_at)
    return [
        max(0.0, nxt.opened_at - prev.closed_at)
        for prev, nxt in itertools.pairwise(conns)
        if prev.closed_at is not None
    ]


def task_kinds() -> Counter[str]:
    """Live tasks by the qualified name of their coroutine; the simulator's own tasks (one per
    REST keep-alive connection the server's pool opens, up to its 50) are marked "sim:"."""
    kinds: Counter[str] = Counter()
    for task in asyncio.all_tasks():
        coro = task.get_coro()
        code = getattr(coro, "cr_code", None)
        file = code.co_filename if code is not None else ""
        prefix = "sim:" if "/gateway/simulator/" in file else ""
        kinds[prefix + getattr(coro, "__qualname__", type(coro).__name__)] += 1
    return kinds


def rss_bytes() -> int:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def server_traces(snapshot: tracemalloc.Snapshot) -> tracemalloc.Snapshot:
    include = [tracemalloc.Filter(True, p) for p in SERVER_FILES]
    exclude = [tracemalloc.Filter(False, p) for p in NOT_SERVER_FILES]
    return snapshot.filter_traces(include).filter_traces(exclude)


CATEGORIES = (
    ("command", 45),
    ("component", 25),
    ("modal", 7),
    ("modal_from_message", 8),
    ("autocomplete", 15),
)


def make_interaction(category: str, n: int) -> dict[str, Any]:
    if category == "command":
        return factory.command("draft")
    if category == "component":  # a fresh message each time: no cooldown reply
        return factory.component("pick:blue", message_id=str(1_300_000_000_000_000_000 + n))
    if category == "modal":
        return factory.modal_submit("trade:modal", {"note": "hi"})
    if category == "modal_from_message":
        return factory.modal_submit(
            "trade:modal",
            {"note": "hi"},
            from_message=True,
            message_id=str(1_400_000_000_000_000_000 + n),
        )
    return factory.autocomplete("draft", "pokemon", "pika")
