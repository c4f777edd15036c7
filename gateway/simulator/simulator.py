"""DiscordSimulator: the gateway WebSocket and the REST API on loopback, recorded and scriptable."""

from __future__ import annotations

import dataclasses
import os
import secrets
from collections.abc import Callable
from http import HTTPStatus
from types import TracebackType
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from gateway.simulator.config import SimConfig
from gateway.simulator.connection import SimConnection
from gateway.simulator.gateway_server import GatewayServer
from gateway.simulator.guild_events import GuildEvents
from gateway.simulator.interaction_log import InteractionLog, InteractionRecord
from gateway.simulator.messages import MessageRoutes
from gateway.simulator.recording import GatewayEvent, Notifier, Takeover
from gateway.simulator.rest_api import RestApi
from gateway.simulator.rest_routes import DiscordRoutes
from gateway.simulator.secret_watch import announce
from gateway.simulator.sessions import Dispatch, Session
from gateway.simulator.snowflake import Snowflakes
from gateway.simulator.webhook_events import WebhookEvents


class DiscordSimulator:
    """See gateway/simulator/README.md. Keyword arguments are SimConfig fields."""

    def __init__(self, config: SimConfig | None = None, **options: Any) -> None:
        self.config = dataclasses.replace(config or SimConfig(), **options)
        self.events: list[GatewayEvent] = []
        self._notifier = Notifier()
        self.ids = Snowflakes(self.config.wall_clock)
        self.interactions = InteractionLog()
        self.gateway = GatewayServer(self.config, self._record, self.notify, self._dispatch_sent)
        self.rest = RestApi(self.config, self.notify)
        self.routes = DiscordRoutes(self.config, self.gateway, self.interactions, self.ids)
        self.routes.install(self.rest)
        self.channel_messages = MessageRoutes(self.routes)
        self.channel_messages.install(self.rest)
        #: Guild events with Discord's intent rules (guild_events.py).
        self.guild_events = GuildEvents(self)
        #: The application's key: signs Webhook Events (webhook_events.py).
        self.webhook_key = Ed25519PrivateKey.generate()
        self._started = False
        announce(self.config.token)

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> DiscordSimulator:
        await self.gateway.start()
        await self.rest.start()
        self._started = True
        return self

    async def stop(self) -> None:
        if self._started:
            self._started = False
            await self.gateway.stop()
            await self.rest.stop()

    async def __aenter__(self) -> DiscordSimulator:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def api_base(self) -> str:
        return self.rest.api_base

    @property
    def gateway_url(self) -> str:
        return self.gateway.url

    @property
    def resume_gateway_url(self) -> str:
        return self.gateway.resume_url

    @property
    def token(self) -> str:
        return self.config.token

    @property
    def application_id(self) -> str:
        return self.config.application_id

    @property
    def webhook_public_key(self) -> str:
        """Hex public key of `webhook_key` (DISCORD_PUBLIC_KEY for Webhook Events)."""
        return self.webhook_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()

    def webhook_events(self, url: str) -> WebhookEvents:
        """Discord's Webhook Events to `url`, signed with `webhook_key`."""
        return WebhookEvents(self, url)

    # ------------------------------------------------------------------ recording
    def notify(self) -> None:
        self._notifier.notify()

    def _record(self, event: GatewayEvent) -> None:
        self.events.append(event)
        self._notifier.notify()

    async def wait_for(
        self,
        predicate: Callable[[], Any],
        timeout: float = 5.0,  # noqa: ASYNC109 (the interface tests use)
        *,
        what: str = "",
    ) -> Any:
        """Wait until predicate() is truthy (re-checked after every recorded event)."""
        return await self._notifier.wait_for(predicate, timeout, what=what)

    def received(self, kind: str | None = None, shard_id: int | None = None) -> list[GatewayEvent]:
        """Events from the client (optionally of one kind / shard)."""
        return self._select("in", kind, shard_id)

    def sent(self, kind: str | None = None, shard_id: int | None = None) -> list[GatewayEvent]:
        """Events to the client, e.g. sent("INTERACTION_CREATE")."""
        return self._select("out", kind, shard_id)

    def _select(self, direction: str, kind: str | None, shard_id: int | None) -> list[GatewayEvent]:
        return [
            e
            for e in self.events
            if e.direction == direction
            and (kind is None or e.kind == kind)
            and (shard_id is None or e.shard == shard_id)
        ]

    @property
    def identifies(self) -> list[GatewayEvent]:
        return self.received("IDENTIFY")

    @property
    def resumes(self) -> list[GatewayEvent]:
        return self.received("RESUME")

    @property
    def heartbeats(self) -> list[GatewayEvent]:
        return self.received("HEARTBEAT")

    @property
    def presences(self) -> list[GatewayEvent]:
        return self.received("PRESENCE_UPDATE")

    @property
    def refused(self) -> list[GatewayEvent]:
        return [e for e in self.events if e.kind == "refused"]

    @property
    def connections(self) -> list[SimConnection]:
        return self.gateway.connections

    @property
    def sessions(self) -> dict[str, Session]:
        return self.gateway.sessions

    @property
    def identify_violations(self) -> list[GatewayEvent]:
        return self.gateway.identify_violations

    @property
    def takeovers(self) -> list[Takeover]:
        """Every RESUME/IDENTIFY that replaced an open connection on its shard; those with
        `live=True` replaced a client that was still talking (two holders at once)."""
        return self.gateway.takeovers

    @property
    def ack_latencies(self) -> list[float]:
        return self.interactions.ack_latencies

    def open_connections(self, shard_id: int | None = None) -> list[SimConnection]:
        return [c for c in self.connections if c.open and (shard_id is None or c.shard == shard_id)]

    def session(self, shard_id: int = 0) -> Session | None:
        """The shard's current resumable session."""
        return self.gateway.session_for(shard_id)

    async def wait_ready(self, shard_id: int = 0, timeout: float = 5.0) -> Session:  # noqa: ASYNC109
        """Wait until the shard has a session attached to an open connection."""

        def ready() -> Session | None:
            s = self.gateway.session_for(shard_id)
            return s if s is not None and s.connection is not None and s.connection.open else None

        session: Session = await self.wait_for(ready, timeout, what=f"(shard {shard_id} ready)")
        return session

    # ------------------------------------------------------------------ dispatches
    async def dispatch(self, name: str, data: Any, shard_id: int = 0) -> int:
        """Send a sequenced dispatch on the shard's session (buffered for RESUME while the
        client is away); returns its seq. NoSessionError without a resumable session."""
        return await self.gateway.dispatch(name, data, shard_id)

    async def send_interaction(
        self, interaction: dict[str, Any] | None = None, shard_id: int = 0
    ) -> dict[str, Any]:
        """Dispatch INTERACTION_CREATE, filling id, token and application_id when missing."""
        payload = dict(interaction or {})
        payload.setdefault("id", self.ids.next())
        payload.setdefault("token", "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(48))
        payload.setdefault("application_id", self.config.application_id)
        payload.setdefault("type", 2)
        payload.setdefault("version", 1)
        self.interactions.add(InteractionRecord(payload, shard_id))
        await self.dispatch("INTERACTION_CREATE", payload, shard_id)
        return payload

    def interaction(self, interaction_id: str) -> InteractionRecord | None:
        return self.interactions.get(str(interaction_id))

    def note_forward(self, interaction_id: str) -> None:
        """The main app got a forward of this interaction now (called by a test's main app):
        kept on its record (`forwarded_at`) to tell whether a stale one was forwarded."""
        record = self.interactions.get(str(interaction_id))
        if record is not None:
            record.forwarded_at.append(self.config.wall_clock())

    def _dispatch_sent(self, item: Dispatch, conn: SimConnection) -> None:
        if item.name == "INTERACTION_CREATE" and isinstance(item.data, dict):
            config = self.config
            self.interactions.mark_sent(
                str(item.data.get("id")), item.seq, config.clock(), config.wall_clock()
            )

    # ------------------------------------------------------------------ faults
    @property
    def gateway_bot_status(self) -> int | None:
        return self.routes.gateway_bot_status

    @gateway_bot_status.setter
    def gateway_bot_status(self, status: int | None) -> None:
        """Answer GET /gateway/bot with this status (e.g. 503) until set back to None."""
        self.routes.gateway_bot_status = status

    async def drop_connection(self, shard_id: int | None = 0) -> int:
        """Abort the TCP connection(s) without a close frame; the session stays resumable."""
        targets = self.gateway.targets(shard_id)
        for conn in targets:
            conn.abort()
        return len(targets)

    async def close(self, code: int, reason: str = "", shard_id: int | None = 0) -> int:
        """Close with any close code (1000-1003, 1007-1014, 3000-4999). 4004, 4007, 4009 and
        4010-4014 also end the session, as Discord does."""
        targets = self.gateway.targets(shard_id)
        for conn in targets:
            await conn.close(code, reason)
        return len(targets)

    async def reconnect_op7(self, shard_id: int | None = 0) -> int:
        return await self._send_op({"op": 7, "d": None}, shard_id)

    async def invalid_session(self, resumable: bool, shard_id: int | None = 0) -> int:
        """Op 9 d=resumable; with False the session is dropped (a RESUME gets op 9 false)."""
        targets = self.gateway.targets(shard_id)
        for conn in targets:
            if not resumable and conn.session is not None:
                conn.session.invalidate()
            await conn.send_payload({"op": 9, "d": resumable})
        return len(targets)

    async def request_heartbeat(self, shard_id: int | None = 0) -> int:
        """Op 1 from the server: the client must heartbeat at once."""
        targets = self.gateway.targets(shard_id)
        for conn in targets:
            await conn.send_payload({"op": 1, "d": conn.session.seq if conn.session else None})
        return len(targets)

    async def send_garbage(self, kind: str = "text", shard_id: int | None = 0) -> int:
        """Send a non-JSON text frame (kind="text") or random bytes (kind="binary")."""
        targets = self.gateway.targets(shard_id)
        for conn in targets:
            junk: str | bytes = "}{ not json" if kind == "text" else b"\x00\xff" + os.urandom(30)
            conn.event("out", None, "garbage", junk)
            await conn.ws.send(junk)
        return len(targets)

    def corrupt_next_frame(self, shard_id: int | None = 0) -> int:
        """Corrupt the next message sent (compressed bytes garbled; plain JSON truncated)."""
        targets = self.gateway.targets(shard_id)
        for conn in targets:
            conn.corrupt_next = True
        return len(targets)

    def stop_acking(self, on: bool = True, shard_id: int | None = None) -> None:
        """Stop (or resume) answering heartbeats: a zombie connection. None: every shard."""
        self.gateway.stop_acking(on, shard_id)

    def withhold_hello(self, on: bool = True) -> None:
        """New connections get no HELLO until withhold_hello(False)."""
        self.gateway.withhold_hello(on)

    def withhold_ready(self, on: bool = True, shard_id: int | None = None) -> None:
        """IDENTIFY gets no READY (the identify still counts) until withhold_ready(False)."""
        self.gateway.withhold_ready(on, shard_id)

    def refuse_connections(
        self,
        seconds: float | None = None,
        status: int = HTTPStatus.SERVICE_UNAVAILABLE,
        *,
        tcp: bool = False,
    ) -> None:
        """Reject WebSocket handshakes with HTTP `status` for `seconds` (None: until
        accept_connections()); each refused attempt is recorded (sim.refused). tcp=True
        closes the listening socket instead (connection refused, attempts not visible)."""
        self.gateway.refuse_connections(seconds, HTTPStatus(status), tcp=tcp)

    def accept_connections(self) -> None:
        self.gateway.accept_connections()

    def ignore_resumes(self, count: int = 1) -> None:
        """Leave the next `count` RESUMEs unanswered: no replay, no RESUMED, no close."""
        self.gateway.ignore_resumes(count)

    def refuse_resume_host(self, on: bool = True) -> None:
        """Answer 503 to handshakes on resume_gateway_url (the main URL still works)."""
        self.gateway.refuse_resume_host(on)

    async def revoke_token(self, *, close_gateway: bool = True) -> int:
        """Refuse the bot token from now on, as Discord does once it is reset or revoked: every
        REST route that needs `Authorization: Bot` answers 401 `{"message": "401:
        Unauthorized", "code": 0}`, IDENTIFY and RESUME are closed 4004; with `close_gateway`
        the open connections are closed 4004 too (their sessions end). Returns how many."""
        self.rest.token_revoked = True
        return await self.gateway.revoke_token(close_open=close_gateway)

    def restore_token(self) -> None:
        """Accept the bot token again (REST and IDENTIFY; ended sessions stay ended)."""
        self.rest.token_revoked = False
        self.gateway.token_revoked = False
        self.notify()

    @property
    def token_revoked(self) -> bool:
        return self.rest.token_revoked

    async def require_shards(self, count: int) -> int:
        """Close 4011 (sharding required) every connection of another shard count and
        recommend `count` in /gateway/bot; returns how many connections were closed."""
        return await self.gateway.require_shards(count)

    async def wait_accepting(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """After accept_connections(): wait until the gateway port listens again."""
        await self.wait_for(
            lambda: self.gateway.listening and self.gateway.refusing is None, timeout
        )

    async def _send_op(self, payload: dict[str, Any], shard_id: int | None) -> int:
        targets = self.gateway.targets(shard_id)
        for conn in targets:
            await conn.send_payload(payload)
        return len(targets)
