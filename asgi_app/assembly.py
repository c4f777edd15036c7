"""The running parts of the server, built from the settings in the order they start.

`Running` is what exists once started (the signing key, the node, the timers, the events (idle
when none are configured), the interaction journal); `Discord` is what exists only with a
gateway (BOT_TOKEN or the simulator): REST, gateway, relay and their clients, as one part.
`asgi_app.services` starts and stops them; the routes read them. Nothing here knows about HTTP.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

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
from gateway.connection.lease import RoleLease
from gateway.connection.leases import ShardLeases
from gateway.connection.manager import GatewayConfig, GatewayManager
from gateway.delivery.sender import (
    DELIVERY_POLICY,
    MAX_IN_FLIGHT,
    HttpPoster,
    Poster,
    RetryPolicy,
    SignedSender,
)
from gateway.delivery.signatures import Ed25519Signer, SigningKey
from gateway.events.service import EventService
from gateway.interactions.forward import Forwarder, forward_sender, new_forward_client
from gateway.interactions.options import RelayOptions
from gateway.interactions.relay import InteractionRelay
from gateway.journal.events import MemoryEventStore, open_event_store
from gateway.journal.interactions import Journal
from gateway.journal.interactions_replay import open_journal
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


@dataclass(frozen=True)
class Discord:
    """The parts that exist only with a gateway (BOT_TOKEN, or the simulator in development)."""

    rest: DiscordRest
    gateway: GatewayManager
    relay: InteractionRelay
    journal: Journal  # the interaction journal (STATE_DIR or REDIS_URL; memory with neither)
    rest_client: httpx.AsyncClient
    forward_client: OriginClient
    simulator: DiscordSimulator | None  # USE_SIMULATOR (development)
    leases: ShardLeases | None  # SHARD_IDS=auto
    audit: AuditLog | None  # AUDIT_LOG_CHANNEL


@dataclass(frozen=True)
class Running:
    """What the server holds once started: built by `Services.start()`, read by the routes."""

    signing_key: SigningKey  # X-Signature-Ed25519 of the forwards, events and timers
    signing_public_key: str
    node: str  # this process among the nodes sharing REDIS_URL
    timers: TimerService
    timer_role: RoleLease | None  # several nodes: who runs the timers
    events: EventService  # idle (nothing to deliver) without EVENT_FORWARDS and Webhook Events
    journal: Journal  # the interaction journal: Discord's, else an empty in-memory one
    discord: Discord | None  # None without BOT_TOKEN (and without the simulator)


def redis_url_of(settings: Settings) -> str | None:
    return settings.redis_url.get() if settings.redis_url is not None else None


def signer(
    settings: Settings,
    key: SigningKey,
    poster: Poster,
    *,
    max_in_flight: int = MAX_IN_FLIGHT,
    policy: RetryPolicy = DELIVERY_POLICY,
) -> SignedSender:
    """The signed sender of the timers or the events to the main app on `poster` (the
    forwards': `forward.forward_sender`)."""
    return SignedSender(
        poster,
        settings.auth_token.get(),
        signers=(Ed25519Signer(key),),
        legacy_auth=settings.forward_legacy_auth,
        timeout=settings.forward_timeout_seconds,
        max_in_flight=max_in_flight,
        policy=policy,
    )


async def start_timers(
    settings: Settings, key: SigningKey, node: str, listeners: list[TimerListener]
) -> tuple[TimerService, RoleLease | None]:
    """League timers: their store (the journal's: Redis, else STATE_DIR), the signed sender
    to TIMERS_URL, then what the last process left: due ones at once, the outbox again."""
    redis_url = redis_url_of(settings)
    store = await open_timer_store(settings.state_dir, redis_url)
    store, sync = synced_timers(store, redis_url, node)  # several nodes: shared
    engine = TimerEngine(store)
    for listener in listeners:
        engine.on_change(listener)
    timers = TimerService(
        engine, signer(settings, key, HttpPoster.open(settings.timers_url)), settings.timers_url
    )
    role = timer_role(settings, redis_url, node, timers)
    await timers.start()
    if sync is not None:
        sync.start(engine)
    return timers, role


def webhook_events_enabled(settings: Settings) -> bool:
    """POST /webhook-events: with DISCORD_PUBLIC_KEY, or the simulator's key (make run)."""
    return bool(settings.discord_public_key) or settings.use_simulator


class NoDelivery:
    """The poster of the idle events (neither EVENT_FORWARDS nor Webhook Events): nothing is
    ever sent through it, so it opens no connection pool."""

    async def post(
        self, url: str, headers: Mapping[str, str], body: bytes, answer_within: float
    ) -> NoReturn:
        raise RuntimeError("no events are configured: nothing is delivered")

    async def aclose(self) -> None:
        return None


async def start_events(
    settings: Settings, key: SigningKey, node: str, notice: Callable[[str], None]
) -> EventService:
    """Events for the main app (EVENT_FORWARDS, Webhook Events): the journal (Redis, else
    STATE_DIR), the signed sender to EVENTS_URL, what the last process left pending. With
    neither, an idle service: no journal opened, no sender pool, no dispatch handled, no dead
    letter (an empty list)."""
    webhooks = webhook_events_enabled(settings)
    if not settings.event_forwards and not webhooks:
        idle = EventService(
            MemoryEventStore(),
            SignedSender(NoDelivery(), ""),
            settings.events_url,
            settings.event_forwards,
            webhooks=False,
        )
        await idle.start(event_shards(settings))
        return idle
    sender = signer(
        settings,
        key,
        HttpPoster.open(settings.events_url, max_connections=settings.events_max_in_flight),
        max_in_flight=settings.events_max_in_flight,
        policy=RetryPolicy(give_up_after=settings.events_retry_hours * 3600),
    )
    group = store_group(settings, node)
    events = EventService(
        await open_event_store(settings.state_dir, redis_url_of(settings), group=group),
        sender,
        settings.events_url,
        settings.event_forwards,
        batch_max=settings.events_batch_max,
        batch_wait_ms=settings.events_batch_wait_ms,
        max_pending=settings.events_max_pending,
        notice=notice,
        webhooks=webhooks,
    )
    await events.start(event_shards(settings))
    return events


async def build_discord(
    settings: Settings, key: SigningKey, node: str, events: EventService
) -> Discord:
    """REST, gateway, relay, journal and audit log, wired to each other; nothing connects yet
    (the embedded simulator aside: it is started here, in development)."""
    api_base = settings.discord_api_base
    token = settings.bot_token.get() if settings.bot_token is not None else ""
    simulator: DiscordSimulator | None = None
    if settings.use_simulator:
        from gateway.simulator import DiscordSimulator

        # the developer portal's privileged intents all switched on
        simulator = await DiscordSimulator(allowed_privileged_intents=(1 << 26) - 1).start()
        api_base, token = simulator.api_base, simulator.token
        log.info("development: Discord simulator at %s", api_base)
    rest_client = new_rest_client(api_base)
    ensure_file_limit(settings.forward_max_in_flight)
    forward_client = new_forward_client(settings.forward_url, settings.forward_max_in_flight)
    rest = DiscordRest(api_base, token, rest_client)
    redis_url = redis_url_of(settings)
    # SHARD_IDS=auto: shards by lease (the embedded simulator shares nothing: no leases)
    leases = shard_leases(settings, None if simulator else redis_url, node)
    gateway = GatewayManager(
        GatewayConfig(
            token=token,
            intents=settings.gateway_intents,
            compression=settings.gateway_compression,
            shard_count=settings.shard_count,
            shard_ids=pinned_shards(settings),
            state_dir=settings.state_dir,
            api_base=api_base,
            # the identify lock and sessions are shared only against the real Discord
            redis_url=None if simulator else redis_url,
            # a checkpoint's seq never runs ahead of the events journal (idle: at once)
            checkpoint_barrier=events.barrier,
            leases=leases,
        ),
        fetch_gateway_bot=rest.get_gateway_bot,
    )
    events.attach(gateway)  # idle: nothing
    journal = await open_journal(settings.state_dir, redis_url, group=store_group(settings, node))
    forwards = forward_sender(
        HttpPoster(forward_client),
        settings.auth_token.get(),
        timeout=settings.forward_timeout_seconds,
        max_in_flight=settings.forward_max_in_flight,
        signers=(Ed25519Signer(key),),
        legacy_auth=settings.forward_legacy_auth,
    )
    relay = InteractionRelay(
        rest,
        Forwarder(forwards, settings.forward_url),
        RelayOptions(
            error_message=settings.interaction_error_message,
            late_message=settings.interaction_late_message,
            response_mode=settings.interaction_response,
            policy=_policy_overrides(settings.interaction_policy),
            response_window_ms=settings.response_window_ms,
        ),
        application_id=lambda: settings.application_id or gateway.application_id,
        answer_validator=validate_answer,
        journal=journal,
    )
    gateway.on_inline("INTERACTION_CREATE", relay.on_dispatch)
    if leases is not None:  # a dead node's interactions in flight: finished here
        leases.on_node_dead(adopter(journal, relay.redeliver, events))
        leases.on_shard(events.shard_changed)  # a shard's pending events go with its lease
    audit = None
    if settings.audit_log_channel:
        audit = AuditLog(rest, settings.audit_log_channel)
        audit.attach(gateway)
    rest.on_token_state(_token_state(audit))
    gateway.on_status(_gateway_status(gateway, rest))
    return Discord(
        rest, gateway, relay, journal, rest_client, forward_client, simulator, leases, audit
    )


def _token_state(audit: AuditLog | None) -> Callable[[str | None], None]:
    def changed(reason: str | None) -> None:
        """The REST client marked the bot token invalid (`reason`) or found it working (None)."""
        if audit is None:
            return
        if reason is not None:
            audit.token_refused(reason)
        else:
            audit.token_accepted()

    return changed


def _gateway_status(
    gateway: GatewayManager, rest: DiscordRest
) -> Callable[[str, str | None], Awaitable[bool | None] | None]:
    def changed(status: str, reason: str | None) -> Awaitable[bool | None] | None:
        """A shard closed 4004 (authentication failed): checked like a 401 on a REST call, so
        a token Discord refuses is named as such in /health and GET /discord."""
        if status != "failed" or rest.failed:
            return None
        if not any(s.last_close_code == CLOSE_AUTHENTICATION_FAILED for s in gateway.shards):
            return None
        return rest.confirm_token("close 4004 (authentication failed) on the gateway")

    return changed


def _policy_overrides(policy: InteractionPolicy) -> dict[str, Any]:
    """INTERACTION_POLICY as the relay's `{"commands": {name: mode}, "components": {prefix:
    mode}}`."""
    return {"commands": dict(policy.commands), "components": dict(policy.components)}
