"""The Socket.IO side of the overlay: admission, one room per overlay, the `overlay` event.

`OverlayRealtime.asgi` is python-socketio's ASGIApp; the HTTP app mounts it at /socket.io
and passes the full path on. Clients are admitted on every namespace when the handshake carries
AUTH_TOKEN (`auth: {"token": ...}` or `?authorization=...`), or its Origin is ORIGIN_URL, or
(for the OBS page) the view key of the overlay it asks for (`auth: {"key": ...}` or `?key=`).
Namespace /overlay puts the client in the room of its overlay and sends it the state as soon
as it is connected, then the `timer` events of that overlay's timers (`publish_timer` sends
and remembers them); everything a client emits is ignored.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qs, urlsplit

import socketio

from asgi_app.http.middleware import token_matches
from asgi_app.overlay.state import (
    DEFAULT_OVERLAY,
    OverlayState,
    same_secret,
    valid_name,
    view_key,
)
from asgi_app.overlay.store import OverlayStore

log = logging.getLogger(__name__)

NAMESPACE = "/overlay"
EVENT = "overlay"
TIMER_EVENT = "timer"
#: Timers remembered per overlay for clients that connect later (the latest changed kept).
TIMERS_PER_OVERLAY = 16
# OBS throttles timers of hidden browser sources to about once a minute: the client must be
# allowed to answer a ping late without being dropped.
PING_INTERVAL = 25.0
PING_TIMEOUT = 60.0
MAX_CLIENT_MESSAGE_BYTES = 16 * 1024  # clients have nothing to send but the handshake
# A refused client keeps its Engine.IO session this long (time to fetch the CONNECT_ERROR
# over long-polling), then the session is closed; without this it would live until the ping
# timeout (85 s) and unauthenticated attempts could pile up memory.
REFUSED_SESSION_GRACE = 1.0
# An Engine.IO session that joins no namespace within this time is closed (socket.io
# clients send CONNECT at once; the JS client's own connect timeout is 45 s, ours is shorter).
NAMESPACE_JOIN_DEADLINE = 10.0

AfterConnect = Callable[[str, str], Awaitable[None]]


class _AfterConnectMixin:
    """Calls a hook once a client is fully connected (after CONNECT was sent to it).

    python-socketio runs the connect handler before it answers CONNECT; anything emitted from
    the handler would reach the client before its connection is confirmed.
    """

    after_connect: AfterConnect | None = None

    async def connect(self, sid: str, namespace: str) -> Any:
        result = await super().connect(sid, namespace)  # type: ignore[misc]
        if self.after_connect is not None:
            await self.after_connect(sid, namespace)
        return result


class _LocalManager(_AfterConnectMixin, socketio.AsyncManager):  # type: ignore[misc]
    pass


class _RedisManager(_AfterConnectMixin, socketio.AsyncRedisManager):  # type: ignore[misc]
    pass


def _first(values: Mapping[str, list[str]], name: str) -> str | None:
    found = values.get(name)
    return found[0] if found else None


def _auth_str(auth: object, name: str) -> str | None:
    if isinstance(auth, dict):
        value = auth.get(name)
        if isinstance(value, str):
            return value
    return None


class Refused(socketio.exceptions.ConnectionRefusedError):  # type: ignore[misc]
    """A refused handshake; the client's `connect_error` carries the message."""


class OverlayRealtime:
    """Socket.IO server for the overlays; `publish` pushes a state to one overlay's clients."""

    def __init__(
        self,
        store: OverlayStore,
        *,
        auth_tokens: Sequence[str],
        origin_url: str,
        view_secrets: Sequence[str] = (),
        redis_url: str | None = None,
        ping_interval: float = PING_INTERVAL,
        ping_timeout: float = PING_TIMEOUT,
    ) -> None:
        self._store = store
        self._auth_tokens = tuple(auth_tokens)
        # VIEW_KEY_SECRET's tokens, else AUTH_TOKEN's: any of them may have keyed a view URL.
        self._view_secrets = tuple(view_secrets) or self._auth_tokens
        self._origin_url = origin_url.rstrip("/")
        manager: socketio.AsyncManager
        if redis_url:
            manager = _RedisManager(redis_url, channel="overlay-socketio")
        else:
            manager = _LocalManager()
        manager.after_connect = self._after_connect
        self.sio = socketio.AsyncServer(
            async_mode="asgi",
            client_manager=manager,
            cors_allowed_origins=self._origin_allowed,
            cors_credentials=False,
            namespaces="*",
            ping_interval=ping_interval,
            ping_timeout=ping_timeout,
            max_http_buffer_size=MAX_CLIENT_MESSAGE_BYTES,
            logger=False,
            engineio_logger=False,
        )
        self.asgi = socketio.ASGIApp(self.sio, other_asgi_app=None, socketio_path="socket.io")
        self._overlay_of: dict[str, str] = {}  # sid -> overlay, for clients of NAMESPACE
        self._connecting: dict[str, str] = {}  # sid -> overlay, between admission and connect
        self._clients: Counter[str] = Counter()
        # overlay -> timer id -> (its last `timer` event, time.monotonic() when it was made)
        self._timers: dict[str, dict[str, tuple[dict[str, Any], float]]] = {}
        self._closed = False
        self._reapers: set[asyncio.Task[None]] = set()
        self._handle_eio_connect = self.sio.eio.handlers["connect"]
        self.sio.eio.on("connect", self._on_eio_connect)
        self.sio.on("connect", self._on_connect, namespace="*")
        self.sio.on("disconnect", self._on_disconnect, namespace="*")
        self.sio.on("*", self._on_client_event, namespace="*")

    # -- public ------------------------------------------------------------------------------
    async def publish(self, name: str, state: OverlayState) -> int:
        """Send `state` to every client of overlay `name` (on every node); local client count."""
        await self.sio.emit(EVENT, state, to=name, namespace=NAMESPACE)
        return self._clients[name]

    async def publish_timer(self, name: str, event: dict[str, Any]) -> None:
        """Send a `timer` event to the clients of overlay `name` and remember it for clients
        that connect later (a cancelled timer is forgotten, after it is sent)."""
        self.remember_timer(name, event)
        await self.sio.emit(TIMER_EVENT, event, to=name, namespace=NAMESPACE)

    def remember_timer(self, name: str, event: dict[str, Any]) -> None:
        timers = self._timers.setdefault(name, {})
        timers.pop(event["id"], None)
        if event.get("state") != "cancelled":
            timers[event["id"]] = (event, time.monotonic())
        while len(timers) > TIMERS_PER_OVERLAY:
            del timers[next(iter(timers))]

    def timer_events(self, name: str) -> list[dict[str, Any]]:
        """The remembered timers of `name`, their `server_now` (and a running clock's
        `remaining_ms`) brought up to now: what a client connecting now is sent."""
        events = []
        for event, made in self._timers.get(name, {}).values():
            age = round((time.monotonic() - made) * 1000)
            fresh = dict(event, server_now=event["server_now"] + age)
            if event["state"] == "running":
                fresh["remaining_ms"] = max(0, event["remaining_ms"] - age)
            events.append(fresh)
        return events

    def client_count(self, name: str) -> int:
        """Clients of overlay `name` connected to this process."""
        return self._clients[name]

    def client_counts(self) -> dict[str, int]:
        return {name: count for name, count in self._clients.items() if count > 0}

    async def close(self) -> None:
        """Disconnect the clients of this process and stop the background tasks (idempotent)."""
        if self._closed:
            return
        self._closed = True
        for task in list(self._reapers):
            task.cancel()
        await asyncio.gather(*self._reapers, return_exceptions=True)
        for sid in list(self._overlay_of):
            await self.sio.disconnect(sid, namespace=NAMESPACE)
        await self.sio.shutdown()

    # -- admission ---------------------------------------------------------------------------
    def _origin_allowed(self, origin: str | None, environ: Mapping[str, Any]) -> bool:
        """Engine.IO CORS check: ORIGIN_URL, or this server itself (the OBS page)."""
        if origin is None:
            return True
        if origin == self._origin_url:
            return True
        host = environ.get("HTTP_HOST")
        return host is not None and urlsplit(origin).netloc == host

    def admit(self, environ: Mapping[str, Any], auth: object) -> str:
        """The overlay this handshake may follow; raises Refused when it may not connect."""
        query = parse_qs(environ.get("QUERY_STRING", ""))
        name = _auth_str(auth, "overlay") or _first(query, "overlay") or DEFAULT_OVERLAY
        if not valid_name(name):
            raise Refused("invalid overlay name")
        token = _auth_str(auth, "token") or _first(query, "authorization")
        if token_matches(token, self._auth_tokens):
            return name
        origin = environ.get("HTTP_ORIGIN")
        if origin is not None and origin == self._origin_url:
            return name
        key = _auth_str(auth, "key") or _first(query, "key")
        if key and any([same_secret(key, view_key(s, name)) for s in self._view_secrets]):
            return name
        raise Refused("unauthorized")

    # -- handlers ----------------------------------------------------------------------------
    async def _on_eio_connect(self, eio_sid: str, environ: Mapping[str, Any]) -> None:
        await self._handle_eio_connect(eio_sid, environ)
        self._reap_later(eio_sid, NAMESPACE_JOIN_DEADLINE, only_if_idle=True)

    def _reap_later(self, eio_sid: str, delay: float, *, only_if_idle: bool) -> None:
        """Close the Engine.IO session after `delay` (if it joined no namespace, when asked)."""
        if self._closed:
            return
        task = asyncio.get_running_loop().create_task(self._reap(eio_sid, delay, only_if_idle))
        self._reapers.add(task)
        task.add_done_callback(self._reapers.discard)

    async def _reap(self, eio_sid: str, delay: float, only_if_idle: bool) -> None:
        await asyncio.sleep(delay)
        manager = self.sio.manager
        joined = any(
            manager.sid_from_eio_sid(eio_sid, namespace) is not None
            for namespace in list(manager.rooms)
        )
        if only_if_idle and joined:
            return
        try:
            await self.sio.eio.disconnect(eio_sid)
        except Exception:  # already gone: nothing to reap
            log.debug("engine.io session already closed")

    async def _on_connect(
        self, namespace: str, sid: str, environ: Mapping[str, Any], auth: object = None
    ) -> None:
        try:
            name = self.admit(environ, auth)
        except Refused:
            eio_sid = self.sio.manager.eio_sid_from_sid(sid, namespace)
            if eio_sid is not None:
                self._reap_later(eio_sid, REFUSED_SESSION_GRACE, only_if_idle=True)
            raise
        if namespace == NAMESPACE:
            self._connecting[sid] = name
        elif namespace != "/":
            raise Refused("unknown namespace")

    async def _after_connect(self, sid: str, namespace: str) -> None:
        name = self._connecting.pop(sid, None)
        if name is None:
            return
        self._overlay_of[sid] = name
        self._clients[name] += 1
        await self.sio.enter_room(sid, name, namespace=NAMESPACE)
        state = await self._store.get(name)
        await self.sio.emit(EVENT, state, to=sid, namespace=NAMESPACE)
        # A POST handled by another node between our read and our emit would otherwise be
        # overwritten on this client by the older state: read once more.
        newer = await self._store.get(name)
        if newer is not state and newer != state:
            await self.sio.emit(EVENT, newer, to=sid, namespace=NAMESPACE)
        for timer in self.timer_events(name):
            await self.sio.emit(TIMER_EVENT, timer, to=sid, namespace=NAMESPACE)

    async def _on_disconnect(self, namespace: str, sid: str, reason: object = None) -> None:
        self._connecting.pop(sid, None)
        name = self._overlay_of.pop(sid, None)
        if name is not None:
            self._clients[name] -= 1
            if self._clients[name] <= 0:
                del self._clients[name]

    async def _on_client_event(self, event: str, namespace: str, sid: str, *args: Any) -> None:
        log.debug("client event ignored", extra={"event": event[:64], "namespace": namespace})
