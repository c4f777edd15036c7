"""The end-to-end stack of the relay tests and benchmarks: simulator + GatewayManager +
DiscordRest + relay, and the stand-in main app (tests/support/harness/main_app.py) on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, fields, replace
from typing import Any

from asgi_app.interaction_answers import validate_answer
from gateway.clock import Clocks
from gateway.connection.manager import GatewayConfig, GatewayManager
from gateway.delivery.sender import FORWARD_POLICY, HttpPoster, Signer
from gateway.interactions.forward import (
    MAX_CONCURRENT_FORWARDS,
    Forwarder,
    forward_sender,
    new_forward_client,
)
from gateway.interactions.options import RelayOptions
from gateway.interactions.relay import InteractionRelay
from gateway.rest.client import DiscordRest, new_rest_client
from gateway.rest.http_client import OriginClient
from gateway.simulator import DiscordSimulator
from tests.support.harness.logcapture import add_secret
from tests.support.harness.main_app import MainApp
from tests.support.harness.server import free_port, serve

AUTH = "main-app-shared-secret-0123456789abcdef"
ERROR_MESSAGE = "Sorry, something went wrong. Please try again."
LATE_MESSAGE = "That took too long, please try again."
FORWARD_PATH = "/api/discord/interactions"


@asynccontextmanager
async def garbage_server() -> AsyncIterator[str]:
    """A TCP server that answers every request with bytes that are not HTTP."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)
        writer.write(b"\x00\xffthis is not HTTP at all\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}"


@dataclass
class Stack:
    sim: DiscordSimulator
    manager: GatewayManager
    rest: DiscordRest
    relay: InteractionRelay
    main: MainApp

    async def send(self, interaction: dict[str, Any]) -> dict[str, Any]:
        return await self.sim.send_interaction(interaction)

    async def settle(self, count: int = 1, timeout: float = 10.0) -> None:
        """Wait until `count` interactions have been fully processed by the relay."""
        await until(lambda: sum(self.relay.stats.forwards.values()) >= count, timeout)

    def callbacks(self, interaction: dict[str, Any]) -> list[Any]:
        record = self.sim.interaction(interaction["id"])
        assert record is not None
        return [req.json for req in record.callbacks]


async def until(predicate: Callable[[], object], timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.005)


@dataclass
class Wired:
    manager: GatewayManager
    rest: DiscordRest
    relay: InteractionRelay


#: The system's clocks without the backoff's jitter (every retry waits its full delay).
NO_JITTER = Clocks(random=lambda: 1.0)
#: The relay's options' fields (gateway/interactions/options.py), by name.
OPTION_NAMES = frozenset(f.name for f in fields(RelayOptions))


def build_relay(
    rest: DiscordRest,
    forward_client: OriginClient,
    *,
    forward_timeout: float = 2.0,
    max_concurrent_forwards: int = MAX_CONCURRENT_FORWARDS,
    signers: Sequence[Signer] = (),
    legacy_auth: bool = False,
    backoff_base: float = 0.02,
    max_attempts: int = 3,
    clocks: Clocks = NO_JITTER,
    **options: Any,
) -> InteractionRelay:
    """An InteractionRelay as asgi_app/assembly.py builds one, from the keyword arguments the
    tests give: RelayOptions' fields (`response_mode=`, `retry_budget=`...), the forwards'
    sender's (`forward_timeout=`, `signers=`, `backoff_base=`...) and the relay's own
    (`journal=`, `answer_validator=`, `discord_clock=`, `clocks=`...). Test defaults: the
    error and late messages above, a 20 ms backoff without jitter, the answers validated."""
    forwards = forward_sender(
        HttpPoster(forward_client),
        AUTH,
        timeout=forward_timeout,
        max_in_flight=max_concurrent_forwards,
        signers=signers,
        legacy_auth=legacy_auth,
        policy=replace(FORWARD_POLICY, base=backoff_base, max_attempts=max_attempts),
        clocks=clocks,
    )
    chosen: dict[str, Any] = {"error_message": ERROR_MESSAGE, "late_message": LATE_MESSAGE}
    chosen.update({k: options.pop(k) for k in list(options) if k in OPTION_NAMES})
    options.setdefault("answer_validator", validate_answer)
    return InteractionRelay(
        rest,
        Forwarder(forwards, forward_client.base_url),
        RelayOptions(**chosen),
        clocks=clocks,
        **options,
    )


@asynccontextmanager
async def wired_relay(
    api_base: str,
    token: str,
    forward_base: str,
    *,
    application_id: Callable[[], str | None] | str | None = None,
    **relay_options: Any,
) -> AsyncIterator[Wired]:
    """GatewayManager + DiscordRest + InteractionRelay on a (simulated) Discord, wired as
    asgi_app wires them, ready (shard 0 identified) when entered."""
    add_secret(token)
    add_secret(AUTH)
    rest_client = new_rest_client(api_base)
    rest = DiscordRest(api_base, token, rest_client)
    manager = GatewayManager(
        GatewayConfig(token=token, intents=5, compression="zlib-stream", api_base=api_base),
        rest.get_gateway_bot,
    )
    forward_client = new_forward_client(
        forward_base + FORWARD_PATH,
        relay_options.get("max_concurrent_forwards", MAX_CONCURRENT_FORWARDS),
    )
    relay = build_relay(
        rest,
        forward_client,
        application_id=(lambda: manager.application_id)
        if application_id is None
        else application_id,
        **relay_options,
    )
    manager.on_inline("INTERACTION_CREATE", relay.on_dispatch)
    try:
        await manager.start()
        await asyncio.wait_for(manager.wait_for("ready"), 10)
        yield Wired(manager, rest, relay)
    finally:
        await relay.drain(grace=10)
        await manager.stop(resumable=False)
        await rest.aclose()
        await rest_client.aclose()
        await forward_client.aclose()


@asynccontextmanager
async def relay_stack(
    main: MainApp | None = None,
    *,
    forward_base: str | None = None,
    application_id: Callable[[], str | None] | str | None = None,
    sim_options: dict[str, Any] | None = None,
    **relay_options: Any,
) -> AsyncIterator[Stack]:
    """Everything in this process and loop: the simulator, the stand-in main app and the relay
    (`forward_base` overrides the main app's URL, e.g. a port nobody listens on;
    `sim_options`: SimConfig fields, e.g. a `wall_clock` for Discord's clock)."""
    main = main or MainApp()
    async with DiscordSimulator(**(sim_options or {})) as sim, serve(main) as main_base:
        async with wired_relay(
            sim.api_base,
            sim.token,
            forward_base or main_base,
            application_id=application_id,
            **relay_options,
        ) as wired:
            yield Stack(sim, wired.manager, wired.rest, wired.relay, main)


def nobody_listens() -> str:
    return f"http://127.0.0.1:{free_port()}"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]
