"""The response policy: how the first response of each interaction is made.

INTERACTION_RESPONSE is the default mode; INTERACTION_POLICY overrides it per command name
(`{"commands": {name: mode}}`) and per component/modal custom_id prefix
(`{"components": {prefix: mode}}`, the longest matching prefix wins).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from gateway.interactions.model import Interaction, InteractionType


class Mode(StrEnum):
    DEFER = "defer"
    DEFER_EPHEMERAL = "defer-ephemeral"
    RESPOND = "respond"

    @property
    def header(self) -> str:
        """The X-Response-Mode value of a forward in this mode."""
        return _HEADERS[self]

    @classmethod
    def from_header(cls, value: str) -> Mode:
        """The mode of an X-Response-Mode value (a journal entry's `mode`)."""
        return next(mode for mode, header in _HEADERS.items() if header == value)


_HEADERS = {
    Mode.DEFER: "deferred",
    Mode.DEFER_EPHEMERAL: "deferred-ephemeral",
    Mode.RESPOND: "respond",
}


def policy_problems(policy: Any) -> list[str]:
    """Every problem of an INTERACTION_POLICY value (parsed JSON), named; [] when valid."""
    if policy is None:
        return []
    if not isinstance(policy, Mapping):
        return ["must be an object with 'commands' and/or 'components'"]
    problems = [f"unknown key {key!r}" for key in policy if key not in ("commands", "components")]
    for section in ("commands", "components"):
        table = policy.get(section, {})
        if not isinstance(table, Mapping):
            problems.append(f"{section}: must be an object")
            continue
        for key, mode in table.items():
            if not isinstance(key, str) or not key:
                problems.append(f"{section}: keys must be non-empty strings")
            if mode not in Mode.__members__.values():
                problems.append(f"{section}.{key}: must be defer, defer-ephemeral or respond")
    return problems


class ResponsePolicy:
    def __init__(
        self, default: Mode | str = Mode.DEFER, overrides: Mapping[str, Any] | None = None
    ) -> None:
        problems = policy_problems(overrides)
        if problems:
            raise ValueError("INTERACTION_POLICY: " + "; ".join(problems))
        self.default = Mode(default)
        overrides = overrides or {}
        self._commands = {k: Mode(v) for k, v in overrides.get("commands", {}).items()}
        # longest prefix first, so the first match is the longest
        self._prefixes = sorted(
            ((k, Mode(v)) for k, v in overrides.get("components", {}).items()),
            key=lambda item: -len(item[0]),
        )

    def mode_for(self, interaction: Interaction) -> Mode:
        if interaction.type is InteractionType.APPLICATION_COMMAND:
            name = interaction.command_name
            if name is not None and name in self._commands:
                return self._commands[name]
            return self.default
        custom_id = interaction.custom_id
        if custom_id is not None:
            for prefix, mode in self._prefixes:
                if custom_id.startswith(prefix):
                    return mode
        return self.default
