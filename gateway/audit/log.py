"""AuditLog: embeds in AUDIT_LOG_CHANNEL for start, shutdown, gateway outages, fatal closes,
a refused bot token (logged at once, posted when the token works again) and guild events, sent
through the same DiscordRest. Fire-and-forget: a failure is logged and never
reaches the caller; at most `max_pending` messages wait at once (more are dropped)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from gateway.clock import SYSTEM_CLOCKS, Clocks
from gateway.rest.client import DiscordRest

log = logging.getLogger("gateway.audit")

# Discord's embed limits.
TITLE_MAX, DESCRIPTION_MAX, FIELDS_MAX = 256, 4096, 25
FIELD_NAME_MAX, FIELD_VALUE_MAX, FOOTER_MAX, AUTHOR_MAX, TOTAL_MAX = 256, 1024, 2048, 256, 6000

GREEN, RED, ORANGE, BLUE, GREY = 0x2ECC71, 0xE74C3C, 0xE67E22, 0x3498DB, 0x95A5A6

GUILD_EVENTS = (
    "GUILD_MEMBER_ADD",
    "GUILD_MEMBER_REMOVE",
    "GUILD_BAN_ADD",
    "GUILD_BAN_REMOVE",
    "CHANNEL_CREATE",
    "CHANNEL_DELETE",
    "GUILD_ROLE_CREATE",
    "GUILD_ROLE_DELETE",
)


class Manager(Protocol):
    def on(self, event: str, handler: Any) -> Any: ...
    def on_status(self, callback: Any) -> Any: ...
    def on_notice(self, callback: Any) -> Any: ...


def cut(text: Any, limit: int) -> str:
    """`text` as a string of at most `limit` characters (an ellipsis marks a cut)."""
    value = str(text)
    return value if len(value) <= limit else value[: limit - 1] + "…"


def clamp_embed(embed: dict[str, Any]) -> dict[str, Any]:
    """A copy of `embed` within Discord's limits (each field, then 6,000 characters in all)."""
    out = dict(embed)
    budget = TOTAL_MAX

    def take(text: Any, limit: int) -> str:
        nonlocal budget
        value = cut(text, max(1, min(limit, budget)))
        budget -= len(value)
        return value

    if "title" in out:
        out["title"] = take(out["title"], TITLE_MAX)
    if isinstance(out.get("author"), dict) and "name" in out["author"]:
        out["author"] = {**out["author"], "name": take(out["author"]["name"], AUTHOR_MAX)}
    if isinstance(out.get("footer"), dict) and "text" in out["footer"]:
        out["footer"] = {**out["footer"], "text": take(out["footer"]["text"], FOOTER_MAX)}
    if "description" in out:
        out["description"] = take(out["description"], DESCRIPTION_MAX)
    fields = []
    for field in list(out.get("fields") or [])[:FIELDS_MAX]:
        if budget < 2:
            break
        name = take(field.get("name", "-") or "-", FIELD_NAME_MAX)
        value = take(field.get("value", "-") or "-", FIELD_VALUE_MAX)
        fields.append({**field, "name": name, "value": value})
    if "fields" in out:
        out["fields"] = fields
    return out


class AuditLog:
    def __init__(
        self,
        rest: DiscordRest,
        channel_id: str | int | None,
        *,
        max_pending: int = 50,
        outage_grace: float = 30.0,
        clocks: Clocks = SYSTEM_CLOCKS,
    ) -> None:
        self._rest = rest
        self._channel = str(channel_id) if channel_id else None
        self._max_pending = max_pending
        self._outage_grace = outage_grace
        self._wall = clocks.wall
        self._clock = clocks.monotonic
        self._sleep = clocks.sleep
        self._tasks: set[asyncio.Task[None]] = set()
        self._outage_timer: asyncio.Task[None] | None = None
        self._outage_reported = False
        self._down_since: float | None = None
        self._last_status: str | None = None
        self._token_refused: tuple[str, float, float] | None = None  # reason, wall, monotonic
        self.sent = 0
        self.failed = 0
        self.dropped = 0

    @property
    def enabled(self) -> bool:
        return self._channel is not None

    # ---- plumbing -----------------------------------------------------------------------
    def post(self, embed: dict[str, Any]) -> asyncio.Task[None] | None:
        """Queue one embed; returns its task (None when disabled or too many are pending)."""
        if self._channel is None:
            return None
        if len(self._tasks) >= self._max_pending:
            self.dropped += 1
            log.warning("audit log: %d messages pending, one dropped", len(self._tasks))
            return None
        embed = {k: v for k, v in embed.items() if v is not None}
        embed = clamp_embed({**embed, "timestamp": self._timestamp()})
        task = asyncio.get_running_loop().create_task(self._send(embed))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _send(self, embed: dict[str, Any]) -> None:
        try:
            response = await self._rest.request(
                "POST",
                f"/channels/{self._channel}/messages",
                {"embeds": [embed], "allowed_mentions": {"parse": []}},
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.failed += 1
            log.warning("audit log message not sent: %s", type(exc).__name__)
            return
        if response.is_success:
            self.sent += 1
        else:
            self.failed += 1
            log.warning("audit log message refused: %d", response.status_code)

    async def flush(self, grace: float = 5.0) -> None:
        """Wait (at most `grace` seconds) for pending messages, e.g. after shutdown()."""
        if self._tasks:
            _done, pending = await asyncio.wait(set(self._tasks), timeout=grace)
            for task in pending:
                task.cancel()

    async def aclose(self, grace: float = 5.0) -> None:
        if self._outage_timer is not None:
            self._outage_timer.cancel()
        await self.flush(grace)

    def _timestamp(self) -> str:
        return datetime.fromtimestamp(self._wall(), UTC).isoformat()

    # ---- lifecycle messages ---------------------------------------------------------------
    def started(self, detail: str = "") -> None:
        self.post({"title": "Server started", "description": detail or None, "color": GREEN})

    def shutdown(self, detail: str = "") -> None:
        self.post({"title": "Server shutting down", "description": detail or None, "color": GREY})

    def gateway_outage(self, status: str, reason: str | None = None) -> None:
        description = f"Gateway {status}" + (f": {reason}" if reason else "")
        self.post({"title": "Discord gateway outage", "description": description, "color": ORANGE})

    def gateway_recovered(self, downtime: float) -> None:
        self.post(
            {
                "title": "Discord gateway recovered",
                "description": f"Ready again after {downtime:.0f} s",
                "color": GREEN,
            }
        )

    def gateway_notice(self, text: str) -> None:
        """Something the gateway decided that an operator should know (identify budget...)."""
        self.post({"title": "Discord gateway", "description": text, "color": ORANGE})

    def fatal(self, reason: str | None) -> None:
        self.post(
            {
                "title": "Discord gateway stopped (fatal)",
                "description": reason or "unknown reason",
                "color": RED,
            }
        )

    def token_refused(self, reason: str) -> None:
        """Discord refuses the bot token: nothing can be posted with it, so this is logged now
        and kept; `token_accepted()` posts it once the token works again."""
        if self._channel is None:
            return
        log.error("audit log: %s (posted to the audit channel once the token works)", reason)
        if self._token_refused is None:
            self._token_refused = (reason, self._wall(), self._clock())

    def token_accepted(self) -> None:
        """The bot token works again: the refusal that could not be posted, with how long."""
        if self._token_refused is None:
            return
        reason, at, since = self._token_refused
        self._token_refused = None
        refused_at = datetime.fromtimestamp(at, UTC).isoformat()
        self.post(
            {
                "title": "Discord refused the bot token",
                "description": f"{reason}. Accepted again after {self._clock() - since:.0f} s.",
                "color": RED,
                "fields": [{"name": "Refused at", "value": refused_at, "inline": True}],
            }
        )

    # ---- gateway status -------------------------------------------------------------------
    def on_status(self, status: str, reason: str | None = None) -> None:
        """GatewayManager.on_status callback: outage after `outage_grace` s away from ready,
        recovery when ready again, fatal at once."""
        previous, self._last_status = self._last_status, status
        if status == "ready":
            if self._outage_timer is not None:
                self._outage_timer.cancel()
                self._outage_timer = None
            if self._outage_reported and self._down_since is not None:
                self.gateway_recovered(self._clock() - self._down_since)
            self._outage_reported = False
            self._down_since = None
        elif status == "failed":
            if self._outage_timer is not None:
                self._outage_timer.cancel()
                self._outage_timer = None
            self.fatal(reason)
        elif status in ("connecting", "resuming") and previous == "ready":
            self._down_since = self._clock()
            if self._outage_timer is None:
                self._outage_timer = asyncio.get_running_loop().create_task(
                    self._outage_after_grace(status, reason)
                )

    async def _outage_after_grace(self, status: str, reason: str | None) -> None:
        await self._sleep(self._outage_grace)
        self._outage_timer = None
        if self._last_status != "ready":
            self._outage_reported = True
            self.gateway_outage(self._last_status or status, reason)

    # ---- guild events ---------------------------------------------------------------------
    async def on_event(self, event: str, data: Any) -> None:
        embed = guild_event_embed(event, data)
        if embed is not None:
            self.post(embed)

    def attach(self, manager: Manager) -> None:
        """Register the guild-event handlers and the status callback on a GatewayManager."""
        if not self.enabled:
            return
        for event in GUILD_EVENTS:
            manager.on(event, self._handler(event))
        manager.on_status(self.on_status)
        manager.on_notice(self.gateway_notice)

    def _handler(self, event: str) -> Callable[[Any, Any], Any]:
        async def handle(data: Any, shard: Any = None) -> None:
            await self.on_event(event, data)

        return handle


def _user(data: dict[str, Any]) -> str:
    user: dict[str, Any] = data["user"] if isinstance(data.get("user"), dict) else {}
    name = user.get("global_name") or user.get("username") or "unknown"
    return f"{name} (<@{user.get('id', '?')}>)"


def guild_event_embed(event: str, data: Any) -> dict[str, Any] | None:
    """The embed for one guild event, or None for events the audit log does not show."""
    if not isinstance(data, dict):
        return None
    guild = {"name": "Guild", "value": str(data.get("guild_id", "?")), "inline": True}
    if event in ("GUILD_MEMBER_ADD", "GUILD_MEMBER_REMOVE"):
        joined = event == "GUILD_MEMBER_ADD"
        return {
            "title": "Member joined" if joined else "Member left",
            "description": _user(data),
            "color": GREEN if joined else GREY,
            "fields": [guild],
        }
    if event in ("GUILD_BAN_ADD", "GUILD_BAN_REMOVE"):
        banned = event == "GUILD_BAN_ADD"
        return {
            "title": "Member banned" if banned else "Member unbanned",
            "description": _user(data),
            "color": RED if banned else BLUE,
            "fields": [guild],
        }
    if event in ("CHANNEL_CREATE", "CHANNEL_DELETE"):
        created = event == "CHANNEL_CREATE"
        return {
            "title": "Channel created" if created else "Channel deleted",
            "description": f"#{data.get('name', '?')} (<#{data.get('id', '?')}>)",
            "color": BLUE if created else ORANGE,
            "fields": [
                guild,
                {"name": "Type", "value": str(data.get("type", "?")), "inline": True},
            ],
        }
    if event in ("GUILD_ROLE_CREATE", "GUILD_ROLE_DELETE"):
        created = event == "GUILD_ROLE_CREATE"
        role: dict[str, Any] = data["role"] if isinstance(data.get("role"), dict) else {}
        role_id = role.get("id") or data.get("role_id", "?")
        name = role.get("name")
        return {
            "title": "Role created" if created else "Role deleted",
            "description": f"{name} ({role_id})" if name else f"Role {role_id}",
            "color": BLUE if created else ORANGE,
            "fields": [guild],
        }
    return None
