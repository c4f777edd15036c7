"""InteractionRelay: the entry of the pipeline (admission, one task per interaction) and its
paths: `defer`, `respond` (respond.py), autocomplete, the redelivery of journaled ones.

The path an interaction follows is described in `gateway/interactions/__init__.py`.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import orjson

from gateway.clock import Clock, Sleep
from gateway.interactions.admission import ACK_WINDOW, Admission, Drop
from gateway.interactions.answers import AnswerValidator, late_delivery, read_answer
from gateway.interactions.cooldown import Cooldown
from gateway.interactions.delivery import error_message_request, first_response_taken, webhook
from gateway.interactions.first_response import (
    ACK_FIRST,
    COOLDOWN_REPLY,
    FORWARD_PATHS,
    defer_for,
)
from gateway.interactions.forward import MAX_CONCURRENT_FORWARDS, Forwarder, Signer
from gateway.interactions.job import AckDue, Job
from gateway.interactions.journal_types import Journal, JournalEntry
from gateway.interactions.model import CallbackType, Interaction, InteractionType
from gateway.interactions.policy import Mode, ResponsePolicy
from gateway.interactions.respond import autocomplete, respond
from gateway.interactions.responder import (
    MAYBE_TAKEN,
    AckOutcome,
    CallbackResponder,
    FirstResponder,
)
from gateway.interactions.stats import RelayStats
from gateway.rest.client import DiscordRest
from gateway.rest.http1 import Http1Pool
from gateway.rest.transport import RestResponse

log = logging.getLogger("gateway.relay")

#: At shutdown, how long an interaction whose forward was cut short may take to show the user
#: the error message.
SHUTDOWN_TELL_TIMEOUT = 3.0
#: Autocomplete: the choices callback keeps this much of the 3 s for itself.
CALLBACK_RESERVE = 0.3
#: A first response without a clear answer is checked (GET @original) after this pause, which
#: lets a callback Discord received just in time finish, with at most CONFIRM_TIMEOUT s.
CONFIRM_DELAY = 0.2
CONFIRM_TIMEOUT = 2.0
CHOICES = CallbackType.APPLICATION_COMMAND_AUTOCOMPLETE_RESULT


class InteractionRelay:
    #: How long a forward may wait for pending acknowledgements to go first.
    MAX_FORWARD_HOLD = 3.0

    def __init__(
        self,
        rest: DiscordRest,
        client: Http1Pool,
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
        response_mode: Mode | str = Mode.DEFER,
        response_window_ms: int = 1500,
        policy: Mapping[str, Any] | None = None,
        late_message: str,
        answer_validator: AnswerValidator | None = None,
        journal: Journal | None = None,
        signers: Sequence[Signer] = (),
        discord_clock: Callable[[], float] | None = None,
    ) -> None:
        self.rest = rest
        self._auth_token = auth_token  # held by the forwarder; never in a repr or log
        self.error_message = error_message
        self.late_message = late_message
        self.answer_validator = answer_validator
        self.window = response_window_ms / 1000.0
        self.retry_budget = retry_budget
        self.clock = clock
        self.wall_clock = wall_clock
        self._sleep = sleep
        self._application_id = application_id
        self._cooldown = Cooldown(cooldown_seconds, clock)
        self._autocomplete_deadline = autocomplete_deadline
        self.policy = ResponsePolicy(response_mode, policy)
        self._journal = journal
        self._admission = Admission(
            discord_clock or rest.discord_clock.now, self._expected_application
        )
        self.stats = RelayStats()
        self.forwarder = Forwarder(
            client,
            auth_token,
            timeout=forward_timeout,
            clock=clock,
            wall_clock=wall_clock,
            sleep=sleep,
            rng=rng,
            max_attempts=max_attempts,
            backoff_base=backoff_base,
            max_concurrent=max_concurrent_forwards,
            signers=signers,
            stats=self.stats,
        )
        self._tasks: set[asyncio.Task[str]] = set()
        self._acks_pending = 0
        self._acks_idle = asyncio.Event()
        self._acks_idle.set()

    def __repr__(self) -> str:  # never the auth token
        return f"InteractionRelay({self.forwarder!r})"

    # -- entry points ---------------------------------------------------------------------

    def on_dispatch(self, data: Any, shard: Any = None) -> None:
        """The inline INTERACTION_CREATE handler
        (`manager.on("INTERACTION_CREATE", relay.on_dispatch, inline=True)`): parses and
        submits in the shard's dispatch loop, no task in between."""
        self._submit_obj(data, None)

    async def handle(self, obj: Any, shard: Any = None, *, raw: bytes | None = None) -> None:
        """Submit an interaction dict (`raw`: its JSON bytes as received, forwarded byte for
        byte when given). Returns at once: the interaction runs in its own task."""
        self._submit_obj(obj, raw)

    def _submit_obj(self, obj: Any, raw: bytes | None) -> None:
        interaction = Interaction.parse(obj, raw)
        if interaction is None:
            self.stats.forwards["ignored"] += 1
            log.info("interaction %s ignored: not an interaction", _brief_id(obj))
            return
        self.submit(interaction)

    def submit(
        self, interaction: Interaction, responder: FirstResponder | None = None
    ) -> asyncio.Task[str] | None:
        """Admit the interaction and run it in its own task (its result: the outcome, a
        `stats.forwards` key); None when admission dropped it (nothing sent)."""
        received = self.clock()
        if interaction.type not in FORWARD_PATHS:
            self.stats.forwards["ignored"] += 1
            log.info("interaction %s type %d ignored", interaction.id, interaction.type)
            return None
        drop, age = self._admission.check(interaction)
        if drop is Drop.FOREIGN:
            self.stats.forwards["ignored"] += 1
            log.info("interaction %s of another application ignored", interaction.id)
            return None
        if drop is not None:
            self._dropped(interaction, drop, f"{age:.1f}s old")
            return None
        if interaction.type is InteractionType.APPLICATION_COMMAND_AUTOCOMPLETE:
            mode = Mode.RESPOND  # always answered from the main app's choices
        else:
            mode = self.policy.mode_for(interaction)
        # Counted as a pending acknowledgement from now: forwards hold back until it is sent.
        due = self._ack_due(interaction.type in ACK_FIRST and mode is not Mode.RESPOND)
        job = Job(
            interaction,
            mode,
            responder or CallbackResponder(self.rest, interaction),
            received,
            received + ACK_WINDOW - age,
            due,
            headers={"X-Response-Mode": mode.header},
        )
        return self._start(self._run(job), due)

    def redeliver(self, entry: JournalEntry) -> asyncio.Task[str] | None:
        """Forward a journaled interaction again after a restart (`X-Redelivery: 1`, no first
        response: it had one) and finish it as usual."""
        interaction = Interaction.parse(orjson.loads(entry.raw), entry.raw)
        if interaction is None:
            return None
        self._admission.remember(interaction)
        now = self.clock()
        job = Job(
            interaction,
            Mode.from_header(entry.mode),
            CallbackResponder(self.rest, interaction),
            now,
            now,
            self._ack_due(False),
            first=entry.first_response,
            headers={"X-Response-Mode": entry.mode, "X-Redelivery": "1"},
        )
        return self._start(self._run(job, redelivery=True), job.due)

    def _start(self, coro: Any, due: AckDue) -> asyncio.Task[str]:
        task: asyncio.Task[str] = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        if due.open:  # a task cancelled before it ran never reaches _run()'s finally
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

    async def _run(self, job: Job, *, redelivery: bool = False) -> str:
        """The whole path of one interaction; returns its outcome (a `stats.forwards` key)."""
        self.stats.in_flight += 1
        try:
            if redelivery:
                outcome = await self._forward_then_deliver(job)
            else:
                outcome = await self._process(job)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("interaction %s: relay error", job.interaction.id)
            outcome = "failed"
        finally:
            job.due.settle()
            self.stats.in_flight -= 1
        self.stats.forwards[outcome] += 1
        if self._journal is not None and outcome != "dropped":
            await self._journal.finish(job.interaction.id)
        return outcome

    # -- the steps ------------------------------------------------------------------------

    def _expected_application(self) -> str | None:
        source = self._application_id
        value = source() if callable(source) else source
        return str(value) if value else None

    def _dropped(self, interaction: Interaction, drop: Drop, detail: str) -> None:
        self.stats.admission[drop.value] += 1
        self.stats.forwards["dropped"] += 1
        log.warning("interaction %s dropped (%s, %s): nothing sent", interaction.id, drop, detail)

    def _ack_due(self, owed: bool) -> AckDue:
        if owed:
            self._acks_pending += 1
            self._acks_idle.clear()
        return AckDue(owed, self._ack_settled)

    def _ack_settled(self) -> None:
        self._acks_pending -= 1
        if not self._acks_pending:
            self._acks_idle.set()

    async def _process(self, job: Job) -> str:
        interaction = job.interaction
        journal = self._journal
        if journal is not None and not await journal.claim(interaction.id, interaction.created_at):
            self._dropped(interaction, Drop.REPLAY, "journaled")
            return "dropped"
        if interaction.type is InteractionType.APPLICATION_COMMAND_AUTOCOMPLETE:
            deadline = min(
                job.received + self._autocomplete_deadline, job.ack_deadline - CALLBACK_RESERVE
            )
            return await autocomplete(self, job, deadline)
        if interaction.type is InteractionType.MESSAGE_COMPONENT and self._cooldown.hit(
            interaction.message_id or interaction.id
        ):
            await self.first_response(job, COOLDOWN_REPLY, record=False)
            log.info("interaction %s: cooldown", interaction.id)
            return "cooldown"
        if job.mode is Mode.RESPOND:
            return await respond(self, job)
        outcome = await self.first_response(job, defer_for(interaction, job.mode))
        job.due.settle()
        if outcome is not AckOutcome.OK:
            log.warning(
                "interaction %s: not acknowledged (%s): not forwarded", interaction.id, outcome
            )
            if outcome in MAYBE_TAKEN:  # the error reaches the user only if Discord took it
                await self.tell_user(job)
            return "not_acknowledged"
        await self.acks_first()
        return await self._forward_then_deliver(job)

    async def _forward_then_deliver(self, job: Job) -> str:
        return await self.after_forward(
            job, self.forwarder.send(job.interaction, self.retry_budget, job.headers)
        )

    async def after_forward(
        self, job: Job, forward: Awaitable[tuple[RestResponse | None, bool]]
    ) -> str:
        """Wait for the forward of an acknowledged interaction; deliver its answer, or tell the
        user it failed."""
        try:
            response, retried = await forward
        except asyncio.CancelledError:
            # Shutdown cut the forward short (drain grace over). The user was shown "thinking"
            # by the defer: tell them it failed rather than leave it pending until it expires.
            if await self.tell_user_on_shutdown(job) and self._journal is not None:
                await self._journal.finish(job.interaction.id)  # the user was told: finished
            raise
        if response is None:
            await self.tell_user(job)
            return "failed"
        if not await self.deliver_late(job, response.content):
            return "failed"
        return "retried_ok" if retried else "ok"

    async def acks_first(self) -> None:
        """Let every pending acknowledgement (interactions received, not yet acknowledged) go
        before this forward, for at most MAX_FORWARD_HOLD s: on one event loop a forward's CPU
        would otherwise delay the acknowledgements received after it."""
        if self._acks_pending:
            try:
                async with asyncio.timeout(self.MAX_FORWARD_HOLD):
                    await self._acks_idle.wait()
            except TimeoutError:
                pass

    async def first_response(
        self, job: Job, body: dict[str, Any], *, record: bool = True
    ) -> AckOutcome:
        """Send the first response with what is left of the 3 s; count and journal it."""
        outcome = await job.responder.send(body, timeout=job.ack_deadline - self.clock())
        if outcome in MAYBE_TAKEN and body["type"] != CHOICES:  # nothing follows the choices
            outcome = await self._confirm(job, outcome)
        self.stats.ack_outcomes[outcome.value] += 1
        if outcome is AckOutcome.CONFIRMED:
            outcome = AckOutcome.OK
        elif outcome is not AckOutcome.OK:
            self.stats.ack_failures += 1
            return outcome
        self.stats.ack_latency.observe(self.clock() - job.received)
        job.first = int(body["type"])
        if record and self._journal is not None:
            interaction = job.interaction
            entry = JournalEntry(
                interaction.id, interaction.created_at, interaction.raw, job.mode.header, job.first
            )
            await self._journal.record(entry)
        return outcome

    async def _confirm(self, job: Job, outcome: AckOutcome) -> AckOutcome:
        """The first response got no clear answer (Discord may have taken it just as the time
        ran out, or its answer was lost): ask Discord, after a moment for it to finish."""
        await self._sleep(CONFIRM_DELAY)
        try:
            async with asyncio.timeout(CONFIRM_TIMEOUT):
                taken = await first_response_taken(self.rest, job.interaction)
        except TimeoutError:
            taken = False
        if not taken:
            return outcome
        log.warning(
            "interaction %s: first response unanswered (%s), but Discord took it",
            job.interaction.id,
            outcome,
        )
        return AckOutcome.CONFIRMED

    async def deliver_late(self, job: Job, content: bytes) -> bool:
        """Deliver the main app's answer after the first response; False when it is invalid
        (the user is told)."""
        answer = read_answer(content, job.interaction, self.answer_validator)
        if answer.problem is not None:
            self.stats.answers["invalid"] += 1
            log.warning("interaction %s: invalid answer: %s", job.interaction.id, answer.problem)
            await self.tell_user(job)
            return False
        if answer.body is None or job.first is None:
            return True
        plan = late_delivery(job.interaction, job.first, answer.body, self.late_message)
        if plan is not None:
            self.stats.answers["late"] += 1
            await webhook(self.rest, job.interaction, *plan)
        return True

    async def tell_user_on_shutdown(self, job: Job) -> bool:
        """Whether the user was told (else the journal keeps it for the next start)."""
        log.warning("interaction %s: forward cut short by shutdown", job.interaction.id)
        self.stats.forwards["failed"] += 1
        try:
            async with asyncio.timeout(SHUTDOWN_TELL_TIMEOUT):
                return await self.tell_user(job)
        except TimeoutError:
            log.error("interaction %s: error message not sent before exit", job.interaction.id)
            return False

    async def tell_user(self, job: Job) -> bool:
        request = error_message_request(job.interaction, self.error_message)
        told = await webhook(self.rest, job.interaction, *request)
        if told:
            self.stats.user_errors += 1
        return bool(told)


def _brief_id(obj: Any) -> str:
    return str(obj.get("id", "?"))[:24] if isinstance(obj, dict) else "?"
