"""Audits over what the simulator recorded: dispatch sequence, acknowledgements, error messages.

Nothing here waits or sleeps: the functions read the simulator's records (and the harness's
own) after the run and turn them into figures and lists of violations.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from gateway.simulator import DiscordSimulator

ACK_DEADLINE = 3.0
#: Written to the socket this long after it was dispatched: it waited for the client's RESUME.
HELD_FOR_RESUME = 0.5


@dataclass(frozen=True, slots=True)
class Sent:
    """One numbered dispatch the harness sent: its key, and where the simulator put it."""

    key: str
    session_id: str | None  # None: no resumable session (Discord would not deliver it)
    seq: int | None


@dataclass
class SequenceAudit:
    dispatched: int = 0
    no_session: int = 0
    must_handle: int = 0
    handled: int = 0
    lost: list[Sent] = field(default_factory=list)
    duplicates: dict[str, int] = field(default_factory=dict)
    lost_with_ended_sessions: int = 0  # never claimed by the client, session ended by Discord


def client_claims(sim: DiscordSimulator) -> dict[str, int]:
    """session id -> the highest seq the client said it had (RESUME seq, heartbeat d).

    A heartbeat counts for the session of its connection once that connection got READY or
    RESUMED; before that its `d` may still belong to an older session.
    """
    conns = {c.id: c for c in sim.connections}
    attached: dict[int, float] = {}
    claims: dict[str, int] = {}

    def claim(session_id: str, seq: Any) -> None:
        if isinstance(seq, int):
            claims[session_id] = max(seq, claims.get(session_id, 0))

    for event in sim.events:
        if event.direction == "out" and event.kind in ("READY", "RESUMED"):
            attached.setdefault(event.connection, event.at)
        elif event.direction == "in" and event.kind == "RESUME":
            d = event.payload.get("d") or {}
            if isinstance(d.get("session_id"), str):
                claim(d["session_id"], d.get("seq"))
        elif event.direction == "in" and event.kind == "HEARTBEAT":
            conn = conns.get(event.connection)
            since = attached.get(event.connection)
            if conn is not None and conn.session is not None and since is not None:
                if event.at >= since:
                    claim(conn.session.session_id, event.payload.get("d"))
    return claims


def audit_sequence(sim: DiscordSimulator, sent: list[Sent], handled: Counter[str]) -> SequenceAudit:
    """Every dispatch the client claimed (seq <= its RESUME/heartbeat seq for that session) was
    handled exactly once; nothing was handled twice."""
    claims = client_claims(sim)
    audit = SequenceAudit(dispatched=len(sent), handled=sum(handled.values()))
    for item in sent:
        if item.session_id is None or item.seq is None:
            audit.no_session += 1
            continue
        if item.seq <= claims.get(item.session_id, 0):
            audit.must_handle += 1
            if handled[item.key] == 0:
                audit.lost.append(item)
        elif handled[item.key] == 0:
            audit.lost_with_ended_sessions += 1
    audit.duplicates = {key: n for key, n in handled.items() if n > 1}
    return audit


@dataclass
class InteractionAudit:
    sent: int = 0
    not_dispatched: int = 0  # no resumable session at that moment
    never_written: int = 0  # buffered in a session that ended before a resume
    on_dying_connection: int = 0  # written to a connection that died before the client read it
    delivered_connected: int = 0
    acked_in_time: int = 0
    ack_latencies: list[float] = field(default_factory=list)
    replayed: int = 0  # dispatched while the client was away, written at its RESUME
    replayed_in_time: int = 0
    replayed_latencies: list[float] = field(default_factory=list)
    late_or_missing: list[str] = field(default_factory=list)
    forwarded_ok: int = 0
    forward_failed: int = 0
    error_shown: int = 0
    error_missing: list[str] = field(default_factory=list)
    error_after_success: list[str] = field(default_factory=list)
    never_forwarded: list[str] = field(default_factory=list)
    autocomplete_answered: int = 0
    by_type: Counter[str] = field(default_factory=Counter)
    #: written to the client only after their 3 s (replayed after an outage), and of those
    #: the ones called back or forwarded all the same (CONTRACT step 1: none may be)
    stale_delivered: int = 0
    stale_answered: list[str] = field(default_factory=list)
    #: callback tries that reached Discord after the interaction's 3 s (refused: 10062)
    late_callbacks: int = 0

    @property
    def worst_ack(self) -> float:
        return max(self.ack_latencies, default=0.0)

    def percentile(self, p: float) -> float:
        values = sorted(self.ack_latencies)
        if not values:
            return 0.0
        return values[min(len(values) - 1, int(p / 100 * len(values)))]


def _first_connection(sim: DiscordSimulator) -> dict[str, int]:
    """interaction id -> connection its INTERACTION_CREATE was first written to."""
    first: dict[str, int] = {}
    for event in sim.events:
        if event.direction == "out" and event.kind == "INTERACTION_CREATE":
            interaction_id = str(event.payload["d"]["id"])
            first.setdefault(interaction_id, event.connection)
    return first


def _webhook_messages(sim: DiscordSimulator) -> dict[str, list[Any]]:
    """webhook token -> successful error-message requests (PATCH @original, POST follow-up)."""
    by_token: dict[str, list[Any]] = {}
    for request in sim.rest.requests:
        parts = request.path.split("/")
        if len(parts) >= 4 and parts[1] == "webhooks" and 200 <= (request.status or 0) < 300:
            by_token.setdefault(parts[3], []).append(request)
    return by_token


def error_shown(record_type: int, from_message: bool, messages: list[Any], text: str) -> bool:
    """Command / modal not from a message: PATCH @original; component or modal from a
    message: an ephemeral follow-up POST (CONTRACT.md step 4, ARCHITECTURE.md deviation)."""
    for request in messages:
        body = request.json or {}
        if body.get("content") != text:
            continue
        if from_message and request.method == "POST" and body.get("flags") == 64:
            return True
        if not from_message and request.method == "PATCH" and request.path.endswith("@original"):
            return True
    return False


def audit_interactions(
    sim: DiscordSimulator,
    interactions: list[tuple[str, str]],
    *,
    not_dispatched: set[str],
    forward_attempts: dict[str, list[str]],
    handled_at: dict[str, float],
    dispatched_at: dict[str, float] | None = None,
    error_message: str,
) -> InteractionAudit:
    """`interactions`: (id, category) in the order sent; `not_dispatched`: those the
    simulator refused (no resumable session). `forward_attempts`: the main app's
    record (interaction id -> outcomes of each attempt). `handled_at`: when a handler on the
    manager first saw the interaction (monotonic, the simulator's clock).

    "Delivered while connected": written to the socket as soon as it was dispatched, and
    received by the server on that connection. The others: dispatched while the client was
    away and written in the RESUME replay (`replayed`: a burst, measured, not required, since
    Discord's 3 s run from the interaction's creation), or written to a connection that died
    before the client read it (it came again in a replay, after Discord's deadline)."""
    audit = InteractionAudit()
    first_conn = _first_connection(sim)
    conns = {c.id: c for c in sim.connections}
    messages = _webhook_messages(sim)
    for interaction_id, category in interactions:
        audit.sent += 1
        audit.by_type[category] += 1
        record = sim.interaction(interaction_id)
        if record is None or interaction_id in not_dispatched:
            audit.not_dispatched += 1
            continue
        if record.sent_at is None:
            audit.never_written += 1
            continue
        audit.late_callbacks += record.late_callbacks
        if record.stale_on_arrival:
            audit.stale_delivered += 1
            if record.answered_stale:
                audit.stale_answered.append(interaction_id)
        conn = conns.get(first_conn.get(interaction_id, -1))
        closed_at = conn.closed_at if conn is not None else None
        received = handled_at.get(interaction_id)
        on_first = received is not None and (closed_at is None or received <= closed_at)
        dispatched = (dispatched_at or {}).get(interaction_id)
        live = dispatched is None or record.sent_at - dispatched < HELD_FOR_RESUME
        latency = record.ack_latency
        in_time = latency is not None and latency <= ACK_DEADLINE
        if on_first and live:
            audit.delivered_connected += 1
            if in_time:
                assert latency is not None
                audit.acked_in_time += 1
                audit.ack_latencies.append(latency)
            else:
                audit.late_or_missing.append(interaction_id)
        elif on_first:
            # Dispatched while the client was away, written when it resumed (a burst).
            audit.replayed += 1
            audit.replayed_in_time += in_time
            if latency is not None:
                audit.replayed_latencies.append(latency)
        else:
            audit.on_dying_connection += 1
        if record.acked_at is None:
            continue  # not acknowledged: Discord shows its own failure, nothing to check
        # Acknowledged: forwarded, or the user sees the error message. Nothing half done.
        attempts = forward_attempts.get(interaction_id, [])
        if record.type == 4:
            audit.autocomplete_answered += record.ack_type == 8
            continue
        if not attempts:
            audit.never_forwarded.append(interaction_id)
            continue
        from_message = isinstance(record.interaction.get("message"), dict)
        shown = error_shown(
            record.type, from_message, messages.get(record.token, []), error_message
        )
        if "ok" in attempts:
            audit.forwarded_ok += 1
            if shown:
                audit.error_after_success.append(interaction_id)
        else:
            audit.forward_failed += 1
            if shown:
                audit.error_shown += 1
            else:
                audit.error_missing.append(interaction_id)
    return audit
