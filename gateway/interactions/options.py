"""`RelayOptions`: what the settings decide about the relay's paths (the messages shown to
users, the response mode and its window, the budgets), in one object the factory builds."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.interactions.policy import Mode


@dataclass(frozen=True, slots=True)
class RelayOptions:
    """`error_message` (INTERACTION_ERROR_MESSAGE) and `late_message`
    (INTERACTION_LATE_MESSAGE) are shown to users; `response_mode` (INTERACTION_RESPONSE),
    `policy` (INTERACTION_POLICY's overrides) and `response_window_ms` (RESPONSE_WINDOW_MS)
    choose how each interaction is first answered; `retry_budget`: the seconds a forward's
    retries may take; `autocomplete_deadline`: the latest choices are sent after arrival;
    `cooldown_seconds`: a component clicked again within it gets the cooldown reply."""

    error_message: str
    late_message: str
    response_mode: Mode | str = Mode.DEFER
    policy: Mapping[str, Any] | None = None
    response_window_ms: int = 1500
    retry_budget: float = 60.0
    autocomplete_deadline: float = 2.5
    cooldown_seconds: float = 3.0
