from pathlib import Path

from tests.events.support import events_app
from tests.support.waiting import eventually


async def test_smoke(tmp_path: Path) -> None:
    async with events_app(tmp_path, {"MESSAGE_CREATE": {}}) as (running, main):
        sim = running.sim
        sent = await sim.guild_events.message_create(content="hello")
        assert sent is not None
        await eventually(lambda: main.delivered(), 5)
        print(main.batches)
        print((await running.http.get("/health")).json())
        print((await running.http.get("/metrics")).text[-3000:])
