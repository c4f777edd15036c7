"""InteractionRelay: the entry of the pipeline (admission, one task per interaction) and its
paths: `defer`, `respond` and autocomplete (respond_mode.py), the redelivery of journaled ones.
Its collaborators, built here: `Acknowledger` (acknowledge.py: the first response),
`Forwarder` (forward.py), `UserDelivery` (delivery.py: the answer or the error message to the
user) and `RespondMode`.

The path an interaction follows is described in `gateway/interactions/__init__.py`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from functools import partial
from typing import Any

import orjson

from gateway.clock import SYSTEM_CLOCKS, Clocks
from gateway.delivery.trace import trace_id_for, trace_id_var
from gateway.interactions.acknowledge import Acknowledger, journal_entry
from gateway.interactions.admission import ACK_WINDOW, Admission, Drop
from gateway.interactions.answers import AnswerValidator
from gateway.interactions.cooldown import Cooldown
from gateway.interactions.delivery import UserDelivery, first_response_taken
from gateway.interactions.forward import Forwarder
from gateway.interactions.job import AckDue, Job, PendingAcks
from gateway.interactions.model import Interaction, InteractionType
from gateway.interactions.options import RelayOptions
from gateway.interactions.policy import Mode, ResponsePolicy
from gateway.interactions.respond_mode import RespondMode
from gateway.interactions.responder import (
    MAYBE_TAKEN,
    AckOutcome,
    CallbackResponder,
    FirstResponder,
)
from gateway.interactions.server_responses import (
    ACK_FIRST,
    COOLDOWN_REPLY,
    FORWARD_PATHS,
    defer_for,
)
from gateway.interactions.stats import RelayResult, RelayStats
from gateway.journal.interactions import TOKEN_LIFETIME, Journal, JournalEntry, MemoryJournal
from gateway.rest.client import DiscordRest

log = logging.getLogger("gateway.relay")


class InteractionRelay:
    #: How long a forward may wait for pending acknowledgements to go first.
    MAX_FORWARD_HOLD = 3.0

    def __init__(
        self,
        rest: DiscordRest,
        forwarder: Forwarder,
        options: RelayOptions,
        *,
        application_id: Callable[[], str | None] | str | None = None,
        answer_validator: AnswerValidator | None = None,
        journal: Journal | None = None,  # None: a MemoryJournal of its own
        discord_clock: Callable[[], float] | None = None,
        clocks: Clocks = SYSTEM_CLOCKS,
    ) -> None:
        self.rest = rest
        self.forwarder = forwarder
        self.options = options
        self.error_message = options.error_message
        self.late_message = options.late_message
        self.window = options.response_window_ms / 1000.0
        self.retry_budget = options.retry_budget
        self.clock = clocks.monotonic
        self._application_id = application_id
        self._cooldown = Cooldown(options.cooldown_seconds, clocks.monotonic)
        self.policy = ResponsePolicy(options.response_mode, options.policy)
        self._journal: Journal = journal if journal is not None else MemoryJournal()
        self._admission = Admission(
            discord_clock or rest.discord_clock.now, self._expected_application
        )
        self.stats = RelayStats(forward_sender=forwarder.stats)
        #: Interactions received whose first response is not yet sent: forwards hold
        #: back for them, and start at most PendingAcks.PER_TURN in a turn of the loop.
        self.pending_acks = PendingAcks()
        self.acknowledger = Acknowledger(
            partial(first_response_taken, rest), self.stats, self._journal, clocks=clocks
        )
        self.delivery = UserDelivery(
            rest,
            self.acknowledger,
            self.stats,
            self._journal,
            error_message=options.error_message,
            late_message=options.late_message,
            answer_validator=answer_validator,
        )
        self.respond_mode = RespondMode(
            forwarder,
            self.acknowledger,
            self.delivery,
            self.stats,
            window=self.window,
            retry_budget=options.retry_budget,
            autocomplete_deadline=options.autocomplete_deadline,
            clocks=clocks,
        )
        self._tasks: set[asyncio.Task[RelayResult]] = set()

    def __repr__(self) -> str:  # never the auth token
        return f"InteractionRelay({self.forwarder!r})"

    # -- entry points ---------------------------------------------------------------------

    def on_dispatch(self, data: Any, shard: Any = None) -> None:
        """The inline INTERACTION_CREATE handler
        (`manager.on_inline("INTERACTION_CREATE", relay.on_dispatch)`): parses and submits in
        the shard's dispatch loop, no task in between."""
        self._submit_obj(data, None)

    async def handle(self, obj: Any, shard: Any = None, *, raw: bytes | None = None) -> None:
        """Submit an interaction dict (`raw`: its JSON bytes as received, forwarded byte for
        byte when given). Returns at once: the interaction runs in its own task."""
        self._submit_obj(obj, raw)

    def _submit_obj(self, obj: Any, raw: bytes | None) -> None:
        interaction = Interaction.parse(obj, raw)
        if interaction is None:
            self.stats.forwards[RelayResult.IGNORED] += 1
            log.info("interaction %s ignored: not an interaction", _brief_id(obj))
            return
        self.submit(interaction)

    def submit(
        self, interaction: Interaction, responder: FirstResponder | None = None
    ) -> asyncio.Task[RelayResult] | None:
        """Admit the interaction and run it in its own task (its result: how it ended); None
        when admission dropped it (nothing sent). A gateway one too old to answer may still
        be forwarded, in its task (`_late`)."""
        received = self.clock()
        if interaction.type not in FORWARD_PATHS:
            self.stats.forwards[RelayResult.IGNORED] += 1
            log.info("interaction %s type %d ignored", interaction.id, interaction.type)
            return None
        drop, age = self._admission.check(interaction)
        if drop is Drop.FOREIGN:
            self.stats.forwards[RelayResult.IGNORED] += 1
            log.info("interaction %s of another application ignored", interaction.id)
            return None
        if drop is Drop.TOO_OLD and responder is None and self._may_be_ours(interaction, age):
            # Too late to answer, but an earlier run of this server (killed between its first
            # response and its journal record) may have answered it: a gateway replay.
            self.stats.admission[drop.value] += 1
            job = self._late_job(interaction, received)
            return self._start(self._run(job, step=self._late), job.due)
        if drop is not None:
            self._dropped(interaction, drop, f"{drop}, {age:.1f}s old")
            return None
        if interaction.type is InteractionType.APPLICATION_COMMAND_AUTOCOMPLETE:
            mode = Mode.RESPOND  # always answered from the main app's choices
        else:
            mode = self.policy.mode_for(interaction)
        # Counted as a pending acknowledgement from now: forwards hold back until it is sent.
        due = self.pending_acks.due(interaction.type in ACK_FIRST and mode is not Mode.RESPOND)
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

    def redeliver(self, entry: JournalEntry) -> asyncio.Task[RelayResult] | None:
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
            self.pending_acks.due(False),
            first=entry.first_response,
            headers={"X-Response-Mode": entry.mode, "X-Redelivery": "1"},
        )
        return self._start(self._run(job, step=self._forward_then_deliver), job.due)

    def _start(
        self, coro: Coroutine[Any, Any, RelayResult], due: AckDue
    ) -> asyncio.Task[RelayResult]:
        task = asyncio.get_running_loop().create_task(coro)
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

    async def _run(
        self, job: Job, *, step: Callable[[Job], Awaitable[RelayResult]] | None = None
    ) -> RelayResult:
        """The whole path of one interaction (`step`: from its arrival, `_process`; a
        redelivery's, `_forward_then_deliver`; a late one's, `_late`); returns how it ended (a
        `stats.forwards` key). Runs in the interaction's own task: its log lines carry its
        trace id (trace.py)."""
        trace_id_var.set(trace_id_for(job.interaction.id))
        self.stats.in_flight += 1
        try:
            result = await (step or self._process)(job)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("interaction %s: relay error", job.interaction.id)
            result = RelayResult.FAILED
        finally:
            job.due.settle()
            self.stats.in_flight -= 1
        self.stats.forwards[result] += 1
        if result is not RelayResult.DROPPED:
            await self._journal.finish(job.interaction.id)
        return result

    # -- the steps ------------------------------------------------------------------------

    def _expected_application(self) -> str | None:
        source = self._application_id
        value = source() if callable(source) else source
        return str(value) if value else None

    def _dropped(
        self, interaction: Interaction, drop: Drop | None, detail: str, *, in_task: bool = False
    ) -> None:
        """Log an interaction dropped with nothing sent, and count it: at admission (`drop`),
        and as a forward's result unless `in_task` (its task's result counts it)."""
        if drop is not None:
            self.stats.admission[drop.value] += 1
        if not in_task:
            self.stats.forwards[RelayResult.DROPPED] += 1
        log.warning(
            "interaction %s dropped (%s): nothing sent",
            interaction.id,
            detail,
            extra={"trace_id": trace_id_for(interaction.id)},
        )

    async def _process(self, job: Job) -> RelayResult:
        interaction = job.interaction
        if not await self._journal.claim(interaction.id, interaction.created_at):
            self._dropped(interaction, Drop.REPLAY, "replay, journaled", in_task=True)
            return RelayResult.DROPPED
        if interaction.type is InteractionType.APPLICATION_COMMAND_AUTOCOMPLETE:
            return await self.respond_mode.autocomplete(job)
        if interaction.type is InteractionType.MESSAGE_COMPONENT and self._cooldown.hit(
            interaction.message_id or interaction.id
        ):
            await self.acknowledger.send(job, COOLDOWN_REPLY, record=False)
            log.info("interaction %s: cooldown", interaction.id)
            return RelayResult.COOLDOWN
        if job.mode is Mode.RESPOND:
            return await self.respond_mode.run(job)
        outcome = await self.acknowledger.send(job, defer_for(interaction, job.mode))
        if outcome is AckOutcome.ALREADY_ACKNOWLEDGED and await first_response_taken(
            self.rest, interaction
        ):  # Discord holds a first response, not this run's: see _answered_earlier
            return await self._answered_earlier(job)
        if outcome is not AckOutcome.OK:
            log.warning(
                "interaction %s: not acknowledged (%s): not forwarded", interaction.id, outcome
            )
            if outcome in MAYBE_TAKEN:  # the error reaches the user only if Discord took it
                await self.delivery.tell_user(job)
            return RelayResult.NOT_ACKNOWLEDGED
        await self.acks_first()
        return await self._forward_then_deliver(job)

    # -- an interaction an earlier run answered and did not journal -------------------------

    @staticmethod
    def _may_be_ours(interaction: Interaction, age: float) -> bool:
        """A gateway interaction too old to answer whose token still works, of a kind that is
        deferred first: one an earlier run may have answered before it died."""
        return interaction.type in ACK_FIRST and age < TOKEN_LIFETIME

    def _late_job(self, interaction: Interaction, received: float) -> Job:
        mode = self.policy.mode_for(interaction)
        if mode is Mode.RESPOND:  # what it sent is unknown: taken as the defer
            mode = Mode.DEFER
        return Job(
            interaction,
            mode,
            CallbackResponder(self.rest, interaction),
            received,
            received,
            self.pending_acks.due(False),
            headers={"X-Response-Mode": mode.header},
        )

    async def _late(self, job: Job) -> RelayResult:
        """A gateway interaction too old to answer (admission): forwarded as a redelivery when
        Discord holds a first response for it (an earlier run's), else dropped as too old."""
        interaction = job.interaction
        if not await self._journal.claim(interaction.id, interaction.created_at):
            self._dropped(interaction, Drop.REPLAY, "replay, journaled", in_task=True)
            return RelayResult.DROPPED
        if not await first_response_taken(self.rest, interaction):
            # its admission counted it; nobody answered it in time
            self._dropped(interaction, None, "too_old, no first response on Discord", in_task=True)
            return RelayResult.DROPPED
        return await self._answered_earlier(job)

    async def _answered_earlier(self, job: Job) -> RelayResult:
        """Discord holds a first response this run did not send (40060 to its own, or found
        on a late interaction): an earlier run sent it and died before its journal record
        (SIGKILL, OOM). Journaled now and forwarded as a redelivery (`X-Redelivery: 1`), its
        first response taken as the defer that run sent."""
        interaction = job.interaction
        job.first = int(defer_for(interaction, job.mode)["type"])
        job.headers["X-Redelivery"] = "1"
        log.warning(
            "interaction %s: first response found on Discord, not journaled here: an earlier "
            "run answered it; forwarded as a redelivery",
            interaction.id,
        )
        await self._journal.record(journal_entry(job))
        await self.acks_first()
        return await self._forward_then_deliver(job)

    async def _forward_then_deliver(self, job: Job) -> RelayResult:
        return await self.delivery.after_forward(
            job, self.forwarder.send(job.interaction, self.retry_budget, job.headers)
        )

    async def acks_first(self) -> None:
        """Let every acknowledgement due (interactions received, first response not yet
        sent) go before this forward, for at most MAX_FORWARD_HOLD s, and the forward start in
        its turn (job.py `PendingAcks`: a few forwards a turn of the event loop)."""
        await self.pending_acks.wait(self.MAX_FORWARD_HOLD)


def _brief_id(obj: Any) -> str:
    return str(obj.get("id", "?"))[:24] if isinstance(obj, dict) else "?"
