"""Admission (CONTRACT step 1): which interactions may still be answered, and once only.

- Another application's interactions are ignored.
- An interaction older than 3 s by Discord's clock when it arrives (a replay after an outage)
  can no longer be acknowledged: neither acknowledged nor forwarded, only counted and logged.
- An id handled once is remembered for 15 minutes (the life of its token) in bounded memory,
  so a second dispatch of it (a duplicate, a resume replay) is neither acknowledged nor
  forwarded again. The journal (when configured) extends this across restarts.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

from gateway.interactions.model import Interaction
from gateway.journal.interactions import MAX_REMEMBERED, TOKEN_LIFETIME
from gateway.journal.seen import SeenIds

#: Discord's window for the first response, from the interaction's creation.
ACK_WINDOW = 3.0


class Drop(StrEnum):
    FOREIGN = "foreign"  # another application's
    TOO_OLD = "too_old"
    REPLAY = "replay"


class Admission:
    def __init__(
        self,
        discord_now: Callable[[], float],
        application_id: Callable[[], str | None],
        *,
        max_age: float = ACK_WINDOW,
        seen: SeenIds | None = None,
    ) -> None:
        self._now = discord_now
        self._application_id = application_id
        self.max_age = max_age
        self.seen = seen or SeenIds(TOKEN_LIFETIME, MAX_REMEMBERED)

    def remember(self, interaction: Interaction) -> None:
        """Note an id handled elsewhere (a journaled one redelivered after a restart)."""
        self.seen.add(interaction.id, interaction.created_at, self._now())

    def check(self, interaction: Interaction) -> tuple[Drop | None, float]:
        """(why it is dropped or None, its age in seconds by Discord's clock)."""
        now = self._now()
        age = max(0.0, now - interaction.created_at)
        expected = self._application_id()
        if expected is not None and interaction.application_id != expected:
            return Drop.FOREIGN, age
        if age > self.max_age:
            return Drop.TOO_OLD, age
        if not self.seen.add(interaction.id, interaction.created_at, now):
            return Drop.REPLAY, age
        return None, age
