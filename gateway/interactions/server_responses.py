"""The first responses the server writes itself (not the main app's answers): the ONE table
from (interaction type, mode) to the defer, the fixed replies (cooldown, the private error),
and where each type is forwarded. Sent by `acknowledge.Acknowledger`."""

from __future__ import annotations

from typing import Any

from gateway.interactions.model import EPHEMERAL, CallbackType, Interaction, InteractionType
from gateway.interactions.policy import Mode

FORWARD_PATHS = {
    InteractionType.APPLICATION_COMMAND: "/command",
    InteractionType.MESSAGE_COMPONENT: "/component",
    InteractionType.APPLICATION_COMMAND_AUTOCOMPLETE: "/autocomplete",
    InteractionType.MODAL_SUBMIT: "/modal",
}
#: Interaction types acknowledged before (or while) they are forwarded; autocomplete is
#: answered after its forward, PING never reaches the relay.
ACK_FIRST = frozenset(
    {
        InteractionType.APPLICATION_COMMAND,
        InteractionType.MESSAGE_COMPONENT,
        InteractionType.MODAL_SUBMIT,
    }
)
COOLDOWN_MESSAGE = "Please wait a couple seconds before using another button on this message."
COOLDOWN_REPLY: dict[str, Any] = {
    "type": CallbackType.CHANNEL_MESSAGE_WITH_SOURCE,
    "data": {"content": COOLDOWN_MESSAGE, "flags": EPHEMERAL},
}

_LOADING = {"type": CallbackType.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE}
_LOADING_PRIVATE = {
    "type": CallbackType.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE,
    "data": {"flags": EPHEMERAL},
}
_UPDATE_LATER = {"type": CallbackType.DEFERRED_UPDATE_MESSAGE}

#: (interaction type, on a message?, ephemeral?) -> the defer. `respond` mode defers as
#: `defer` when its window ends. A modal opened from a message updates that message (6) in
#: both defer modes; one opened from a command defers like a command.
_DEFERS: dict[tuple[InteractionType, bool, bool], dict[str, Any]] = {
    (InteractionType.APPLICATION_COMMAND, False, False): _LOADING,
    (InteractionType.APPLICATION_COMMAND, True, False): _LOADING,
    (InteractionType.APPLICATION_COMMAND, False, True): _LOADING_PRIVATE,
    (InteractionType.APPLICATION_COMMAND, True, True): _LOADING_PRIVATE,
    (InteractionType.MESSAGE_COMPONENT, True, False): _UPDATE_LATER,
    (InteractionType.MESSAGE_COMPONENT, False, False): _UPDATE_LATER,
    (InteractionType.MESSAGE_COMPONENT, True, True): _LOADING_PRIVATE,
    (InteractionType.MESSAGE_COMPONENT, False, True): _LOADING_PRIVATE,
    (InteractionType.MODAL_SUBMIT, True, False): _UPDATE_LATER,
    (InteractionType.MODAL_SUBMIT, True, True): _UPDATE_LATER,
    (InteractionType.MODAL_SUBMIT, False, False): _LOADING,
    (InteractionType.MODAL_SUBMIT, False, True): _LOADING_PRIVATE,
}


def defer_for(interaction: Interaction, mode: Mode) -> dict[str, Any]:
    """The acknowledgement the server sends itself for `interaction` in `mode`."""
    ephemeral = mode is Mode.DEFER_EPHEMERAL
    return _DEFERS[(interaction.type, interaction.from_message, ephemeral)]


def error_reply(message: str) -> dict[str, Any]:
    """The private error sent as the first response (respond mode, nothing sent yet)."""
    return {
        "type": CallbackType.CHANNEL_MESSAGE_WITH_SOURCE,
        "data": {"content": message, "flags": EPHEMERAL},
    }
