"""What dedupes a dispatch that comes again (a RESUME's replay): per gateway session, its key
(model.session_key) and the highest seq journaled, with when. A dispatch of that session at or
below it was journaled already (a session numbers its dispatches in order). The marks are
written with the events (gateway/journal/events.py), read at start, and learned again from
the store when this node takes a shard or adopts a node (`learn`: the highest wins)."""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.events.model import session_key
from gateway.journal.events import MARK_KEEP, Marks


@dataclass
class SessionMarks:
    keys: dict[str, str] = field(default_factory=dict)  # session id -> key
    seqs: Marks = field(default_factory=dict)  # key -> (seq, at)

    def key(self, session_id: str) -> str:
        key = self.keys.get(session_id)
        if key is None:
            key = self.keys[session_id] = session_key(session_id)
        return key

    def replayed(self, key: str, seq: int) -> bool:
        mark = self.seqs.get(key)
        return mark is not None and seq <= mark[0]

    def learn(self, marks: Marks) -> None:
        for key, mark in marks.items():
            known = self.seqs.get(key)
            if known is None or mark[0] > known[0]:
                self.seqs[key] = mark

    def prune(self, now: float) -> None:
        """Forget the sessions that journaled nothing for MARK_KEEP."""
        self.seqs = {k: v for k, v in self.seqs.items() if now - v[1] < MARK_KEEP}
        live = set(self.seqs)
        self.keys = {s: k for s, k in self.keys.items() if k in live}
