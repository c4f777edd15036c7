"""The User-Agent of every request this server makes to Discord (REST and gateway)."""

from __future__ import annotations

from typing import Final

USER_AGENT: Final = "DiscordBot (https://github.com/draft-league/companion, 0.1.0)"
