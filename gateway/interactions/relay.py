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
import random
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from functools import partial
from typing import Any

import orjson

from gateway.clock import Clock, Sleep
from gateway.interactions.acknowledge import Acknowledger
from gateway.interactions.admission import ACK_WINDOW, Admission, Drop
from gateway.interactions.answers import AnswerValidator
from gateway.interactions.cooldown import Cooldown
from gateway.interactions.delivery import UserDelivery, first_response_taken
from gateway.interactions.forward import MAX_CONCURRENT_FORWARDS, Forwarder, Signer
from gateway.interactions.job import AckDue, Job, PendingAcks
from gateway.interactions.model import Interaction, InteractionType
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
from gateway.interactions.trace import trace_id_for, trace_id_var
from gateway.journal.interactions import Journal, JournalEntry, MemoryJournal
from gateway.rest.client import DiscordRest
from gateway.rest.http_client import OriginClient

log = logging.getLogger("gateway.relay")


class InteractionRelay:
    #: How long a forward may wait for pending acknowledgements to go first.
    MAX_FORWARD_HOLD = 3.0

    def __init__(
        self,
        rest: DiscordRest,
        client: OriginClient,
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
        journal: Journal | None = None,  # None: a MemoryJournal of its own
        signers: Sequence[Signer] = (),
        discord_clock: Callable[[], float] | None = None,
        legacy_auth: bool = False,
    ) -> None:
        self.rest = rest
        self.error_message = error_message
        self.late_message = late_message
        self.answer_validator = answer_validator
        self.window = response_window_ms / 1000.0
        self.retry_budget = retry_budget
        self.clock = clock
        self._application_id = application_id
        self._cooldown = Cooldown(cooldown_seconds, clock)
        self.policy = ResponsePolicy(response_mode, policy)
        self._journal: Journal = journal if journal is not None else MemoryJournal()
        self._admission = Admission(
            discord_clock or rest.discord_clock.now, self._expected_application
        )
        self.stats = RelayStats()
        #: Interactions received whose first response is not yet sent: forwards hold
        #: back for them, and start at most PendingAcks.PER_TURN in a turn of the loop.
        self.pending_acks = PendingAcks()
        self.forwarder = Forwarder(
            client,
            auth_token,  # held by the forwarder; never in a repr or log
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
            legacy_auth=legacy_auth,
        )
        self.acknowledger = Acknowledger(
            partial(first_response_taken, rest),
            self.stats,
            self._journal,
            clock=clock,
            sleep=sleep,
        )
        self.delivery = UserDelivery(
            rest,
            self.acknowledger,
            self.stats,
            self._journal,
            error_message=error_message,
            late_message=late_message,
            answer_validator=answer_validator,
        )
        self.respond_mode = RespondMode(
            self.forwarder,
            self.acknowledger,
            self.delivery,
            self.stats,
            window=self.window,
            retry_budget=retry_budget,
            autocomplete_deadline=autocomplete_deadline,
            clock=clock,
            wall_clock=wall_clock,
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
        when admission dropped it (nothing sent)."""
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
        if drop is not None:
            self._dropped(interaction, drop, f"{age:.1f}s old")
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
        return self._start(self._run(job, redelivery=True), job.due)

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

    async def _run(self, job: Job, *, redelivery: bool = False) -> RelayResult:
        """The whole path of one interaction; returns how it ended (a `stats.forwards` key).
        Runs in the interaction's own task: its log lines carry its trace id (trace.py)."""
        trace_id_var.set(trace_id_for(job.interaction.id))
        self.stats.in_flight += 1
        try:
            if redelivery:
                result = await self._forward_then_deliver(job)
            else:
                result = await self._process(job)
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

    def _dropped(self, interaction: Interaction, drop: Drop, detail: str) -> None:
        self.stats.admission[drop.value] += 1
        self.stats.forwards[RelayResult.DROPPED] += 1
        log.warning(
            "interaction %s dropped (%s, %s): nothing sent",
            interaction.id,
            drop,
            detail,
            extra={"trace_id": trace_id_for(interaction.id)},
        )

    async def _process(self, job: Job) -> RelayResult:
        interaction = job.interaction
        if not await self._journal.claim(interaction.id, interaction.created_at):
            self._dropped(interaction, Drop.REPLAY, "journaled")
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
        if outcome is not AckOutcome.OK:
            log.warning(
                "interaction %s: not acknowledged (%s): not forwarded", interaction.id, outcome
            )
            if outcome in MAYBE_TAKEN:  # the error reaches the user only if Discord took it
                await self.delivery.tell_user(job)
            return RelayResult.NOT_ACKNOWLEDGED
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
