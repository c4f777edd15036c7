"""The long-lived parts of the server and the order they start and stop in.

Built from the settings by the app factory; started by the lifespan hook, stopped in reverse
on shutdown. `start()` builds one `Running` (asgi_app/assembly.py: what always exists, and the
Discord parts as one optional `Discord`); routes read `services.running`. Nothing here knows
about HTTP.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from asgi_app.assembly import (
    Discord,
    Running,
    build_discord,
    start_events,
    start_timers,
    webhook_events_enabled,
)
from gateway.connection.lease import node_id
from gateway.delivery.signatures import public_key_hex
from gateway.delivery.signing_key import load_signing_key
from gateway.journal.interactions import MemoryJournal
from gateway.journal.interactions_replay import replay_pending
from gateway.timers.engine import Listener as TimerListener

if TYPE_CHECKING:
    from asgi_app.settings import Settings

__all__ = ["Discord", "Running", "Services"]

log = logging.getLogger("asgi_app.services")

#: How long the shutdown waits for interactions in flight before cancelling them.
DRAIN_GRACE_SECONDS = 5.0


class Services:
    """The settings, then (once started) the one `Running` bundle the routes read."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.started_at = time.time()
        self._started_mono = time.monotonic()
        self._running: Running | None = None
        self._warming: asyncio.Task[None] | None = None
        #: Called on every timer change (the overlay's `timer` event); set before start().
        self.timer_listeners: list[TimerListener] = []

    @property
    def running(self) -> Running:
        """What start() built; routes are served only after the lifespan startup ran it."""
        if self._running is None:
            raise RuntimeError("the services are not started")
        return self._running

    @property
    def uptime(self) -> float:
        return time.monotonic() - self._started_mono

    @property
    def gateway_configured(self) -> bool:
        return self.settings.bot_token is not None or self.settings.use_simulator

    @property
    def webhook_events_enabled(self) -> bool:
        """POST /webhook-events: with DISCORD_PUBLIC_KEY, or the simulator's key (make run)."""
        return webhook_events_enabled(self.settings)

    async def start(self) -> None:
        settings = self.settings
        configured = settings.forward_signing_key
        key = load_signing_key(configured.get() if configured else None, settings.state_dir)
        public_key = public_key_hex(key)
        log.info("forward signing public key (X-Signature-Ed25519): %s", public_key)
        node = node_id(settings.state_dir)
        timers, role = await start_timers(settings, key, node, self.timer_listeners)
        events = await start_events(settings, key, node, self._events_notice)
        discord = None
        if self.gateway_configured:
            discord = await build_discord(settings, key, node, events)
        else:
            log.warning("no BOT_TOKEN: the Discord gateway is not started")
        journal = discord.journal if discord is not None else MemoryJournal()
        self._running = Running(key, public_key, node, timers, role, events, journal, discord)
        if discord is not None:
            await self._connect(discord)

    async def _connect(self, discord: Discord) -> None:
        # What the last process acknowledged and did not finish, before new interactions.
        await replay_pending(discord.journal, discord.relay.redeliver)
        await discord.gateway.start()
        # Open the acknowledgement connections (TLS to Discord) before the first interaction.
        self._warming = asyncio.create_task(discord.rest.warm_callbacks(2))
        if discord.audit is not None:
            discord.audit.started()

    def _events_notice(self, text: str) -> None:
        discord = self._running.discord if self._running is not None else None
        if discord is not None and discord.audit is not None:
            discord.audit.gateway_notice(text)

    async def stop(self) -> None:
        running = self._running
        if running is None:
            return
        discord = running.discord
        if discord is not None:
            if discord.audit is not None:
                discord.audit.shutdown()
            await discord.gateway.stop(resumable=True)
            await discord.relay.drain(DRAIN_GRACE_SECONDS)
        if running.timer_role is not None:  # another node runs the timers from now on
            await running.timer_role.stop()
            await running.timer_role.store.client.aclose()
        await running.timers.stop()
        await running.events.stop()
        await running.journal.aclose()
        if discord is not None:
            await _close_discord(discord, self._warming)

    def discord_summary(self) -> dict[str, Any]:
        """The gateway's state as /health and GET /discord show it (no secrets)."""
        discord = self.running.discord
        if discord is None:
            return {"configured": self.gateway_configured, "status": "idle", "shards": []}
        gateway, rest, leases = discord.gateway, discord.rest, discord.leases
        # A bot token Discord refuses (the 401 rule) fails Discord as a whole, gateway or not.
        token_refused = rest.failure_reason if rest.failed else None
        status = gateway.status()
        if status == "idle" and leases is not None and leases.joined:
            status = "ready"  # SHARD_IDS=auto: a live node that holds no shard (yet) is fine
        summary: dict[str, Any] = {
            "configured": True,
            "status": "failed" if token_refused else status,
            "shards": gateway.snapshot(),
        }
        if token_refused or gateway.failure_reason:
            summary["reason"] = token_refused or gateway.failure_reason
        identify_wait = gateway.identify_wait()
        if identify_wait is not None:
            summary["identify_wait"] = identify_wait
        if discord.simulator is not None:
            summary["simulator"] = True
        return summary


async def _close_discord(discord: Discord, warming: asyncio.Task[None] | None) -> None:
    """The Discord parts' last steps, after the journal closed: leases, audit, clients."""
    if discord.leases is not None:  # what is left in this node's journal: the others' now
        await discord.leases.finish()
        await discord.leases.client.aclose()
    if discord.audit is not None:
        await discord.audit.aclose()
    if warming is not None:
        await asyncio.gather(warming, return_exceptions=True)
    await discord.rest.aclose()
    for client in (discord.forward_client, discord.rest_client):
        await client.aclose()
    if discord.simulator is not None:
        await discord.simulator.stop()
