"""Interaction types, where each is forwarded, and what is sent to Discord first."""

from __future__ import annotations

PING, APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 1, 2, 3, 4, 5
FORWARD_PATHS = {
    APPLICATION_COMMAND: "/command",
    MESSAGE_COMPONENT: "/component",
    AUTOCOMPLETE: "/autocomplete",
    MODAL_SUBMIT: "/modal",
}
#: Interaction types acknowledged before their forward (autocomplete is answered after it).
ACK_FIRST = frozenset({APPLICATION_COMMAND, MESSAGE_COMPONENT, MODAL_SUBMIT})
COOLDOWN_MESSAGE = "Please wait a couple seconds before using another button on this message."
EPHEMERAL = 64
