"""InteractionRelay: the pipeline of one interaction (acknowledge, forward, tell the user).

The path it follows is described in `gateway/interactions/__init__.py`.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from typing import Any

import httpx
import orjson

from gateway.interactions.cooldown import Cooldown
from gateway.interactions.first_response import ACK_FIRST, COOLDOWN_MESSAGE, FORWARD_PATHS
from gateway.interactions.forward import MAX_CONCURRENT_FORWARDS, RETRY_STATUSES, parse_choices
from gateway.interactions.model import EPHEMERAL, InteractionType
from gateway.interactions.signatures import sign
from gateway.interactions.stats import RelayStats
from gateway.rest.client import DiscordRest
from gateway.rest.ratelimit import Clock, Sleep

log = logging.getLogger("gateway.relay")

AUTOCOMPLETE = InteractionType.APPLICATION_COMMAND_AUTOCOMPLETE
MESSAGE_COMPONENT = InteractionType.MESSAGE_COMPONENT
MODAL_SUBMIT = InteractionType.MODAL_SUBMIT

#: At shutdown, how long an interaction whose forward was cut short may take to show the user
#: the error message.
SHUTDOWN_TELL_TIMEOUT = 3.0


class _AckDue:
    """An interaction counted in `InteractionRelay._acks_pending` until `settle()`."""

    __slots__ = ("_relay", "open")

    def __init__(self, relay: InteractionRelay, open_: bool) -> None:
        self._relay = relay
        self.open = open_

    def settle(self) -> None:
        if self.open:
            self.open = False
            self._relay._ack_settled()


class InteractionRelay:
    #: How long a forward may wait for pending acknowledgements to go first.
    MAX_FORWARD_HOLD = 3.0

    def __init__(
        self,
        rest: DiscordRest,
        client: httpx.AsyncClient,
        forward_url: str,
        auth_token: str,
        error_message: str,
        forward_timeout: float = 10.0,
        application_id: Callable[[], str | None] | str | None = None,
        *,
        clock: Clock = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        sleep: Sleep = asyncio.sleep,
        rng: Callable[[], float] = random.random,
        cooldown_seconds: float = 3.0,
        autocomplete_deadline: float = 2.5,
        max_attempts: int = 3,
        retry_budget: float = 60.0,
        backoff_base: float = 1.0,
        max_concurrent_forwards: int = MAX_CONCURRENT_FORWARDS,
    ) -> None:
        self._rest = rest
        self._client = client
        self._forward_url = forward_url.rstrip("/")
        self._auth_token = auth_token
        self._error_message = error_message
        self._forward_timeout = forward_timeout
        self._application_id = application_id
        self._clock = clock
        self._wall_clock = wall_clock
        self._sleep = sleep
        self._rng = rng
        self._cooldown = Cooldown(cooldown_seconds, clock)
        self._autocomplete_deadline = autocomplete_deadline
        self._max_attempts = max_attempts
        self._retry_budget = retry_budget
        self._backoff_base = backoff_base
        self._tasks: set[asyncio.Task[str]] = set()
        self._forward_slots = asyncio.Semaphore(max_concurrent_forwards)
        self._acks_pending = 0
        self._acks_idle = asyncio.Event()
        self._acks_idle.set()
        self.stats = RelayStats()

    def __repr__(self) -> str:  # never the auth token
        return f"InteractionRelay(forward_url={self._forward_url!r})"

    # -- entry points ---------------------------------------------------------------------

    async def handle(
        self, interaction: dict[str, Any], shard: Any = None, *, raw: bytes | None = None
    ) -> None:
        """INTERACTION_CREATE handler (`manager.on("INTERACTION_CREATE", relay.handle)`).

        Returns at once: the interaction is processed in its own task, so the caller (a shard's
        dispatch loop) and other interactions never wait for it. `raw`: the interaction's JSON
        bytes as received, forwarded byte for byte when given.
        """
        self.spawn(interaction, raw=raw)

    def spawn(self, interaction: dict[str, Any], *, raw: bytes | None = None) -> asyncio.Task[str]:
        # Counted as a pending acknowledgement from now: forwards hold back until it is sent.
        due = self._ack_due(interaction)
        task = asyncio.get_running_loop().create_task(
            self.process(interaction, raw=raw, received_at=self._clock(), _due=due)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        if due.open:  # a task cancelled before it ran never reaches process()'s finally
            task.add_done_callback(lambda _task: due.settle())
        return task

    async def drain(self, grace: float | None = None) -> None:
        """Wait for the interactions in flight (at shutdown); cancel what is left after `grace`."""
        if not self._tasks:
            return
        _done, pending = await asyncio.wait(set(self._tasks), timeout=grace)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)

    async def process(
        self,
        interaction: dict[str, Any],
        *,
        raw: bytes | None = None,
        received_at: float | None = None,
        _due: _AckDue | None = None,
    ) -> str:
        """The whole path of one interaction; returns its outcome (a `stats.forwards` key)."""
        received = self._clock() if received_at is None else received_at
        due = self._ack_due(interaction) if _due is None else _due
        self.stats.in_flight += 1
        try:
            outcome = await self._process(interaction, raw, received, due)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("interaction %s: relay error", _id(interaction))
            outcome = "failed"
        finally:
            due.settle()
            self.stats.in_flight -= 1
        self.stats.forwards[outcome] += 1
        return outcome

    # -- the steps ------------------------------------------------------------------------

    def _expected_application(self) -> str | None:
        source = self._application_id
        value = source() if callable(source) else source
        return str(value) if value else None

    def _ack_due(self, interaction: dict[str, Any]) -> _AckDue:
        owed = interaction.get("type") in ACK_FIRST
        if owed:
            self._acks_pending += 1
            self._acks_idle.clear()
        return _AckDue(self, owed)

    def _ack_settled(self) -> None:
        self._acks_pending -= 1
        if not self._acks_pending:
            self._acks_idle.set()

    async def _process(
        self, interaction: dict[str, Any], raw: bytes | None, received: float, due: _AckDue
    ) -> str:
        kind = interaction.get("type")
        interaction_id = _id(interaction)
        expected = self._expected_application()
        if (
            kind not in FORWARD_PATHS
            or not isinstance(interaction.get("token"), str)
            or (expected is not None and str(interaction.get("application_id")) != expected)
        ):
            due.settle()
            log.info("interaction %s type %s ignored", interaction_id, kind)
            return "ignored"

        if kind == AUTOCOMPLETE:
            return await self._autocomplete(interaction, raw, received)

        from_message = isinstance(interaction.get("message"), dict)
        if kind == MESSAGE_COMPONENT:
            message_id = str(interaction["message"]["id"]) if from_message else interaction_id
            if self._cooldown.hit(message_id):
                await self._callback(
                    interaction,
                    {"type": 4, "data": {"content": COOLDOWN_MESSAGE, "flags": EPHEMERAL}},
                    received,
                )
                due.settle()
                log.info("interaction %s type %s: cooldown", interaction_id, kind)
                return "cooldown"
            ack = {"type": 6}
        elif kind == MODAL_SUBMIT and from_message:
            ack = {"type": 6}
        else:
            ack = {"type": 5}
        await self._callback(interaction, ack, received)
        due.settle()
        await self._acks_first()

        try:
            response, retried = await self._forward(interaction, raw, self._retry_budget)
        except asyncio.CancelledError:
            # Shutdown cut the forward short (drain grace over). The user was shown "thinking"
            # by the defer: tell them it failed rather than leave it pending until it expires.
            await self._tell_user_on_shutdown(interaction, from_message)
            raise
        if response is not None:
            return "retried_ok" if retried else "ok"
        await self._tell_user(interaction, ephemeral_follow_up=from_message)
        return "failed"

    async def _acks_first(self) -> None:
        """Let every pending acknowledgement (interactions received, not yet acknowledged) go
        before this forward, for at most MAX_FORWARD_HOLD s: on one event loop a forward's CPU
        would otherwise delay the acknowledgements received after it."""
        if self._acks_pending:
            try:
                async with asyncio.timeout(self.MAX_FORWARD_HOLD):
                    await self._acks_idle.wait()
            except TimeoutError:
                pass

    async def _callback(
        self, interaction: dict[str, Any], body: dict[str, Any], received: float
    ) -> bool:
        interaction_id = _id(interaction)
        path = f"/interactions/{interaction_id}/{interaction['token']}/callback"
        try:
            response = await self._rest.request("POST", path, json=body, essential=True)
        except Exception as exc:
            self.stats.ack_failures += 1
            log.error("interaction %s: callback failed: %s", interaction_id, type(exc).__name__)
            return False
        self.stats.ack_latency.observe(self._clock() - received)
        if not response.is_success:
            self.stats.ack_failures += 1
            log.error("interaction %s: callback answered %d", interaction_id, response.status_code)
            return False
        return True

    async def _forward(
        self, interaction: dict[str, Any], raw: bytes | None, budget: float
    ) -> tuple[httpx.Response | None, bool]:
        """POST the interaction to the main app; (2xx response or None, whether it was retried)."""
        interaction_id = _id(interaction)
        kind = interaction["type"]
        url = self._forward_url + FORWARD_PATHS[kind]
        body = raw if raw is not None else orjson.dumps(interaction)
        start = self._clock()
        deadline = start + budget
        attempt = 0
        while True:
            attempt += 1
            remaining = deadline - self._clock()
            timestamp = str(int(self._wall_clock()))
            headers = {
                "Content-Type": "application/json",
                "Authorization": self._auth_token,
                "X-Interaction-Id": interaction_id,
                "X-Signature-Timestamp": timestamp,
                "X-Signature-SHA256": sign(self._auth_token, timestamp, body),
            }
            timeout = max(0.001, min(self._forward_timeout, remaining))
            retryable: bool
            try:
                async with self._forward_slots:
                    response = await self._client.post(
                        url, content=body, headers=headers, timeout=httpx.Timeout(timeout)
                    )
                    await response.aread()
            except httpx.HTTPError as exc:  # connection errors, timeouts, protocol garbage
                retryable = True
                problem = type(exc).__name__
            else:
                if response.is_success:
                    return response, attempt > 1
                retryable = response.status_code in RETRY_STATUSES
                problem = str(response.status_code)
            delay = self._backoff_base * 2 ** (attempt - 1) * (0.5 + self._rng() / 2)
            if (
                not retryable
                or attempt >= self._max_attempts
                or self._clock() + delay >= deadline - 0.001
            ):
                log.warning(
                    "interaction %s type %s: forward failed (%s, attempt %d)",
                    interaction_id,
                    kind,
                    problem,
                    attempt,
                )
                return None, attempt > 1
            self.stats.retries += 1
            log.info(
                "interaction %s type %s: forward %s, retry in %.2fs",
                interaction_id,
                kind,
                problem,
                delay,
            )
            await self._sleep(delay)

    async def _autocomplete(
        self, interaction: dict[str, Any], raw: bytes | None, received: float
    ) -> str:
        """Forward, then answer type 8 with the main app's choices (empty when late/failing)."""
        budget = self._autocomplete_deadline - (self._clock() - received)
        choices: list[Any] = []
        ok = False
        retried = False
        if budget > 0:
            try:
                response, retried = await asyncio.wait_for(
                    self._forward(interaction, raw, budget), timeout=budget
                )
            except TimeoutError:
                response = None
            if response is not None:
                parsed = parse_choices(response.content)
                if parsed is None:
                    log.warning(
                        "interaction %s: autocomplete answer without choices", _id(interaction)
                    )
                else:
                    choices, ok = parsed, True
        await self._callback(interaction, {"type": 8, "data": {"choices": choices}}, received)
        if not ok:
            return "failed"
        return "retried_ok" if retried else "ok"

    async def _tell_user_on_shutdown(self, interaction: dict[str, Any], from_message: bool) -> None:
        log.warning("interaction %s: forward cut short by shutdown", _id(interaction))
        self.stats.forwards["failed"] += 1
        try:
            await asyncio.wait_for(
                self._tell_user(interaction, ephemeral_follow_up=from_message),
                SHUTDOWN_TELL_TIMEOUT,
            )
        except TimeoutError:
            log.error("interaction %s: error message not sent before exit", _id(interaction))

    async def _tell_user(self, interaction: dict[str, Any], *, ephemeral_follow_up: bool) -> None:
        app_id = interaction.get("application_id")
        token = interaction["token"]
        try:
            if ephemeral_follow_up:
                response = await self._rest.request(
                    "POST",
                    f"/webhooks/{app_id}/{token}",
                    json={"content": self._error_message, "flags": EPHEMERAL},
                    essential=True,
                )
            else:
                response = await self._rest.request(
                    "PATCH",
                    f"/webhooks/{app_id}/{token}/messages/@original",
                    json={"content": self._error_message},
                    essential=True,
                )
        except Exception as exc:
            log.error(
                "interaction %s: error message not sent: %s", _id(interaction), type(exc).__name__
            )
            return
        if response.is_success:
            self.stats.user_errors += 1
        else:
            log.error(
                "interaction %s: error message answered %d", _id(interaction), response.status_code
            )


def _id(interaction: dict[str, Any]) -> str:
    return str(interaction.get("id", "?"))
