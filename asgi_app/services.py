"""The long-lived parts of the server and the order they start and stop in.

Built from the settings by the app factory; started by the lifespan hook, stopped in reverse
on shutdown. Routes read these objects; nothing here knows about HTTP.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

import httpx

from asgi_app.file_limit import ensure_file_limit
from asgi_app.interaction_answers import validate_answer
from gateway.audit.log import AuditLog
from gateway.connection.manager import GatewayConfig, GatewayManager
from gateway.interactions.forward import new_forward_client
from gateway.interactions.journal_replay import open_journal, replay_pending
from gateway.interactions.journal_types import Journal
from gateway.interactions.relay import InteractionRelay
from gateway.interactions.signatures import Ed25519Signer, SigningKey, public_key_hex
from gateway.interactions.signing_key import load_signing_key
from gateway.rest.client import DiscordRest, new_rest_client
from gateway.rest.http1 import Http1Pool

if TYPE_CHECKING:
    from asgi_app.setting_types import InteractionPolicy
    from asgi_app.settings import Settings
    from gateway.simulator import DiscordSimulator

log = logging.getLogger("asgi_app.services")

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
        self.forward_client: Http1Pool | None = None
        self.rest: DiscordRest | None = None
        self.gateway: GatewayManager | None = None
        self.relay: InteractionRelay | None = None
        self.journal: Journal | None = None
        self.audit: AuditLog | None = None
        self.signing_key: SigningKey | None = None  # X-Signature-Ed25519 of the forwards
        self.signing_public_key: str | None = None
        self._warming: asyncio.Task[None] | None = None

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
        if not self.gateway_configured:
            log.warning("no BOT_TOKEN: the Discord gateway is not started")
            return
        api_base = settings.discord_api_base
        token = settings.bot_token.get() if settings.bot_token is not None else ""
        if settings.use_simulator:
            from gateway.simulator import DiscordSimulator

            self.simulator = await DiscordSimulator().start()
            api_base, token = self.simulator.api_base, self.simulator.token
            log.info("development: Discord simulator at %s", api_base)
        self.rest_client = new_rest_client()
        ensure_file_limit(settings.forward_max_in_flight)
        self.forward_client = new_forward_client(
            settings.forward_url, settings.forward_max_in_flight
        )
        self.rest = DiscordRest(api_base, token, self.rest_client)
        self.gateway = GatewayManager(
            GatewayConfig(
                token=token,
                intents=settings.gateway_intents,
                compression=settings.gateway_compression,
                shard_count=settings.shard_count,
                shard_ids=list(settings.shard_ids) if settings.shard_ids else None,
                state_dir=settings.state_dir,
                api_base=api_base,
                # the identify lock and sessions are shared only against the real Discord
                redis_url=(
                    settings.redis_url.get() if settings.redis_url and not self.simulator else None
                ),
            ),
            fetch_gateway_bot=self.rest.get_gateway_bot,
        )
        redis_url = settings.redis_url.get() if settings.redis_url is not None else None
        self.journal = await open_journal(
            settings.state_dir, redis_url, shard_ids=settings.shard_ids
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
        )
        self.gateway.on_inline("INTERACTION_CREATE", self.relay.on_dispatch)
        if settings.audit_log_channel:
            self.audit = AuditLog(self.rest, settings.audit_log_channel)
            self.audit.attach(self.gateway)
        # What the last process acknowledged and did not finish, before new interactions.
        await replay_pending(self.journal, self.relay.redeliver)
        await self.gateway.start()
        # Open the acknowledgement connections (TLS to Discord) before the first interaction.
        self._warming = asyncio.create_task(self.rest.warm_callbacks(2))
        if self.audit is not None:
            self.audit.started()

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
        if self.journal is not None:
            await self.journal.aclose()
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
        summary: dict[str, Any] = {
            "configured": True,
            "status": self.gateway.status(),
            "shards": self.gateway.snapshot(),
        }
        if self.gateway.failure_reason or (self.rest is not None and self.rest.failed):
            reason = self.gateway.failure_reason
            if reason is None and self.rest is not None:
                reason = self.rest.failure_reason
            summary["reason"] = reason
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
