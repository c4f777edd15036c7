"""The long-lived parts of the server and the order they start and stop in.

Built from the settings by the app factory; started by the lifespan hook, stopped in reverse
on shutdown. Routes read these objects; nothing here knows about HTTP.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

import httpx

from asgi_app.file_limit import ensure_file_limit
from asgi_app.interaction_answers import validate_answer
from asgi_app.nodes import (
    adopter,
    event_shards,
    pinned_shards,
    shard_leases,
    store_group,
    synced_timers,
    timer_role,
)
from gateway.audit.log import AuditLog
from gateway.connection.lease import RoleLease, node_id
from gateway.connection.leases import ShardLeases
from gateway.connection.manager import GatewayConfig, GatewayManager
from gateway.delivery.sender import HttpPoster, SignedSender
from gateway.events.service import EventService
from gateway.interactions.forward import new_forward_client
from gateway.interactions.relay import InteractionRelay
from gateway.interactions.signatures import Ed25519Signer, SigningKey, public_key_hex
from gateway.interactions.signing_key import load_signing_key
from gateway.journal.events import open_event_store
from gateway.journal.interactions import Journal, JournalEntry, MemoryJournal
from gateway.journal.interactions_replay import open_journal, replay_pending
from gateway.journal.timers import open_timer_store
from gateway.rest.client import DiscordRest, new_rest_client
from gateway.rest.http_client import OriginClient
from gateway.timers.engine import Listener as TimerListener
from gateway.timers.engine import TimerEngine
from gateway.timers.service import TimerService

if TYPE_CHECKING:
    from asgi_app.setting_types import InteractionPolicy
    from asgi_app.settings import Settings
    from gateway.simulator import DiscordSimulator

log = logging.getLogger("asgi_app.services")

#: The gateway's close for a bot token Discord refuses.
CLOSE_AUTHENTICATION_FAILED = 4004
#: How long the shutdown waits for interactions in flight before cancelling them.
DRAIN_GRACE_SECONDS = 5.0


class Services:
    """Discord REST client, gateway, relay, audit log (and the simulator in development)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.started_at = time.time()
        self._started_mono = time.monotonic()
        self.simulator: DiscordSimulator | None = None
        self.rest_client: httpx.AsyncClient | None = None
        self.forward_client: OriginClient | None = None
        self.rest: DiscordRest | None = None
        self.gateway: GatewayManager | None = None
        self.relay: InteractionRelay | None = None
        #: The interaction journal: memory until start() opens the configured one (memory
        #: too when neither STATE_DIR nor REDIS_URL is set).
        self.journal: Journal = MemoryJournal()
        self.leases: ShardLeases | None = None  # SHARD_IDS=auto
        self.node = ""  # this process among the nodes sharing REDIS_URL (at start)
        self._timer_role: RoleLease | None = None
        self.audit: AuditLog | None = None
        self.signing_key: SigningKey | None = None  # X-Signature-Ed25519 of the forwards
        self.signing_public_key: str | None = None
        self._warming: asyncio.Task[None] | None = None
        self.timers: TimerService | None = None  # league timers, once loaded
        self.events: EventService | None = None  # events for the main app, once loaded
        #: Called on every timer change (the overlay's `timer` event); set before start().
        self.timer_listeners: list[TimerListener] = []

    @property
    def uptime(self) -> float:
        return time.monotonic() - self._started_mono

    @property
    def gateway_configured(self) -> bool:
        return self.settings.bot_token is not None or self.settings.use_simulator

    async def start(self) -> None:
        settings = self.settings
        key = settings.forward_signing_key
        self.signing_key = load_signing_key(key.get() if key else None, settings.state_dir)
        self.signing_public_key = public_key_hex(self.signing_key)
        log.info("forward signing public key (X-Signature-Ed25519): %s", self.signing_public_key)
        self.node = node_id(settings.state_dir)
        await self._start_timers()
        await self._start_events()
        if not self.gateway_configured:
            log.warning("no BOT_TOKEN: the Discord gateway is not started")
            return
        api_base = settings.discord_api_base
        token = settings.bot_token.get() if settings.bot_token is not None else ""
        if settings.use_simulator:
            from gateway.simulator import DiscordSimulator

            # the developer portal's privileged intents all switched on
            self.simulator = await DiscordSimulator(
                allowed_privileged_intents=(1 << 26) - 1
            ).start()
            api_base, token = self.simulator.api_base, self.simulator.token
            log.info("development: Discord simulator at %s", api_base)
        self.rest_client = new_rest_client(api_base)
        ensure_file_limit(settings.forward_max_in_flight)
        self.forward_client = new_forward_client(
            settings.forward_url, settings.forward_max_in_flight
        )
        self.rest = DiscordRest(api_base, token, self.rest_client)
        redis_url = settings.redis_url.get() if settings.redis_url is not None else None
        # SHARD_IDS=auto: shards by lease (the embedded simulator shares nothing: no leases)
        self.leases = shard_leases(settings, None if self.simulator else redis_url, self.node)
        self.gateway = GatewayManager(
            GatewayConfig(
                token=token,
                intents=settings.gateway_intents,
                compression=settings.gateway_compression,
                shard_count=settings.shard_count,
                shard_ids=pinned_shards(settings),
                state_dir=settings.state_dir,
                api_base=api_base,
                # the identify lock and sessions are shared only against the real Discord
                redis_url=(
                    settings.redis_url.get() if settings.redis_url and not self.simulator else None
                ),
                # a checkpoint's seq never runs ahead of the events journal
                checkpoint_barrier=self.events.barrier if self.events is not None else None,
                leases=self.leases,
            ),
            fetch_gateway_bot=self.rest.get_gateway_bot,
        )
        if self.events is not None:
            self.events.attach(self.gateway)
        self.journal = await open_journal(
            settings.state_dir,
            redis_url,
            group=store_group(settings, self.node),
        )
        self.relay = InteractionRelay(
            self.rest,
            self.forward_client,
            auth_token=settings.auth_token.get(),
            error_message=settings.interaction_error_message,
            forward_timeout=settings.forward_timeout_seconds,
            application_id=self._application_id,
            response_mode=settings.interaction_response,
            response_window_ms=settings.response_window_ms,
            policy=_policy_overrides(settings.interaction_policy),
            late_message=settings.interaction_late_message,
            max_concurrent_forwards=settings.forward_max_in_flight,
            answer_validator=validate_answer,
            signers=(Ed25519Signer(self.signing_key),),
            journal=self.journal,
            legacy_auth=settings.forward_legacy_auth,
        )
        self.gateway.on_inline("INTERACTION_CREATE", self.relay.on_dispatch)
        if self.leases is not None:  # a dead node's interactions in flight: finished here
            self.leases.on_node_dead(adopter(self.journal, self._redeliver, self.events))
            if self.events is not None:  # a shard's pending events go with its lease
                self.leases.on_shard(self.events.shard_changed)
        if settings.audit_log_channel:
            self.audit = AuditLog(self.rest, settings.audit_log_channel)
            self.audit.attach(self.gateway)
        self.rest.on_token_state(self._token_state)
        self.gateway.on_status(self._gateway_status)
        # What the last process acknowledged and did not finish, before new interactions.
        await replay_pending(self.journal, self.relay.redeliver)
        await self.gateway.start()
        # Open the acknowledgement connections (TLS to Discord) before the first interaction.
        self._warming = asyncio.create_task(self.rest.warm_callbacks(2))
        if self.audit is not None:
            self.audit.started()

    async def _start_timers(self) -> None:
        """League timers: their store (the journal's: Redis, else STATE_DIR), the signed sender
        to TIMERS_URL, then what the last process left: due ones at once, the outbox again."""
        settings = self.settings
        assert self.signing_key is not None
        redis_url = settings.redis_url.get() if settings.redis_url is not None else None
        store = await open_timer_store(settings.state_dir, redis_url)
        store, sync = synced_timers(store, redis_url, self.node)  # several nodes: shared
        engine = TimerEngine(store)
        for listener in self.timer_listeners:
            engine.on_change(listener)
        sender = SignedSender(
            HttpPoster(settings.timers_url),
            settings.auth_token.get(),
            signers=(Ed25519Signer(self.signing_key),),
            legacy_auth=settings.forward_legacy_auth,
            timeout=settings.forward_timeout_seconds,
        )
        timers = TimerService(engine, sender, settings.timers_url)
        self._timer_role = timer_role(settings, redis_url, self.node, timers)
        await timers.start()
        if sync is not None:
            sync.start(engine)
        self.timers = timers

    @property
    def webhook_events_enabled(self) -> bool:
        """POST /webhook-events: with DISCORD_PUBLIC_KEY, or the simulator's key (make run)."""
        return bool(self.settings.discord_public_key) or self.settings.use_simulator

    async def _start_events(self) -> None:
        """Events for the main app (EVENT_FORWARDS, Webhook Events): the journal (Redis, else
        STATE_DIR), the signed sender to EVENTS_URL, what the last process left pending."""
        settings = self.settings
        if not settings.event_forwards and not self.webhook_events_enabled:
            return
        assert self.signing_key is not None
        redis_url = settings.redis_url.get() if settings.redis_url is not None else None
        sender = SignedSender(
            HttpPoster(settings.events_url, max_connections=settings.events_max_in_flight),
            settings.auth_token.get(),
            signers=(Ed25519Signer(self.signing_key),),
            legacy_auth=settings.forward_legacy_auth,
            timeout=settings.forward_timeout_seconds,
            max_in_flight=settings.events_max_in_flight,
            give_up_after=settings.events_retry_hours * 3600,
        )
        events = EventService(
            await open_event_store(
                settings.state_dir, redis_url, group=store_group(settings, self.node)
            ),
            sender,
            settings.events_url,
            settings.event_forwards,
            batch_max=settings.events_batch_max,
            batch_wait_ms=settings.events_batch_wait_ms,
            max_pending=settings.events_max_pending,
            notice=self._events_notice,
        )
        await events.start(event_shards(settings))
        self.events = events

    def _events_notice(self, text: str) -> None:
        if self.audit is not None:
            self.audit.gateway_notice(text)

    def _token_state(self, reason: str | None) -> None:
        """The REST client marked the bot token invalid (`reason`) or found it working (None)."""
        if self.audit is None:
            return
        if reason is not None:
            self.audit.token_refused(reason)
        else:
            self.audit.token_accepted()

    def _gateway_status(self, status: str, reason: str | None) -> Awaitable[bool | None] | None:
        """A shard closed 4004 (authentication failed): checked like a 401 on a REST call, so
        a token Discord refuses is named as such in /health and GET /discord."""
        gateway, rest = self.gateway, self.rest
        if status != "failed" or gateway is None or rest is None or rest.failed:
            return None
        if not any(s.last_close_code == CLOSE_AUTHENTICATION_FAILED for s in gateway.shards):
            return None
        return rest.confirm_token("close 4004 (authentication failed) on the gateway")

    def _redeliver(self, entry: JournalEntry) -> asyncio.Task[str] | None:
        return self.relay.redeliver(entry) if self.relay is not None else None

    def _application_id(self) -> str | None:
        if self.settings.application_id:
            return self.settings.application_id
        return self.gateway.application_id if self.gateway is not None else None

    async def stop(self) -> None:
        if self.audit is not None:
            self.audit.shutdown()
        if self.gateway is not None:
            await self.gateway.stop(resumable=True)
        if self.relay is not None:
            await self.relay.drain(DRAIN_GRACE_SECONDS)
        if self._timer_role is not None:  # another node runs the timers from now on
            await self._timer_role.stop()
            await self._timer_role.store.client.aclose()
        if self.timers is not None:
            await self.timers.stop()
        if self.events is not None:
            await self.events.stop()
        await self.journal.aclose()
        if self.leases is not None:  # what is left in this node's journal: the others' now
            await self.leases.finish()
            await self.leases.client.aclose()
        if self.audit is not None:
            await self.audit.aclose()
        if self._warming is not None:
            await asyncio.gather(self._warming, return_exceptions=True)
        if self.rest is not None:
            await self.rest.aclose()
        for client in (self.forward_client, self.rest_client):
            if client is not None:
                await client.aclose()
        if self.simulator is not None:
            await self.simulator.stop()

    def discord_summary(self) -> dict[str, Any]:
        """The gateway's state as /health and GET /discord show it (no secrets)."""
        if self.gateway is None:
            return {"configured": self.gateway_configured, "status": "idle", "shards": []}
        # A bot token Discord refuses (the 401 rule) fails Discord as a whole, gateway or not.
        rest = self.rest
        token_refused = rest.failure_reason if rest is not None and rest.failed else None
        status = self.gateway.status()
        if status == "idle" and self.leases is not None and self.leases.joined:
            status = "ready"  # SHARD_IDS=auto: a live node that holds no shard (yet) is fine
        summary: dict[str, Any] = {
            "configured": True,
            "status": "failed" if token_refused else status,
            "shards": self.gateway.snapshot(),
        }
        if token_refused or self.gateway.failure_reason:
            summary["reason"] = token_refused or self.gateway.failure_reason
        identify_wait = self.gateway.identify_wait()
        if identify_wait is not None:
            summary["identify_wait"] = identify_wait
        if self.simulator is not None:
            summary["simulator"] = True
        return summary


def _policy_overrides(policy: InteractionPolicy) -> dict[str, Any]:
    """INTERACTION_POLICY as the relay's `{"commands": {name: mode}, "components": {prefix:
    mode}}`."""
    return {"commands": dict(policy.commands), "components": dict(policy.components)}
