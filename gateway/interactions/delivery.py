"""What reaches the user after the first response: the main app's late answer, or the error
message (CONTRACT step 4), through the interaction's webhook (no bot token needed)."""

from __future__ import annotations

import logging
from typing import Any

from gateway.interactions.model import EPHEMERAL, Interaction
from gateway.rest.client import DiscordRest

log = logging.getLogger("gateway.relay")


async def webhook(
    rest: DiscordRest, interaction: Interaction, method: str, path: str, body: dict[str, Any]
) -> bool:
    """Send one webhook request for the interaction; True when Discord took it."""
    try:
        response = await rest.request(method, path, json=body, essential=True)
    except Exception as exc:
        log.error(
            "interaction %s: %s %s failed: %s",
            interaction.id,
            method,
            _kind(path),
            type(exc).__name__,
        )
        return False
    if response.is_success:
        return True
    log.error(
        "interaction %s: %s %s answered %d", interaction.id, method, _kind(path), response.status
    )
    return False


async def first_response_taken(rest: DiscordRest, interaction: Interaction) -> bool:
    """Whether Discord holds a first response for the interaction, asked when the callback got
    no clear answer: `GET .../messages/@original` answers the response's message (after a
    deferred update, the component's message) once one was taken, 404 before."""
    path = f"/webhooks/{interaction.application_id}/{interaction.token}/messages/@original"
    try:
        response = await rest.request("GET", path, essential=True)
    except Exception as exc:
        log.error("interaction %s: GET @original failed: %s", interaction.id, type(exc).__name__)
        return False
    return response.is_success


def error_message_request(
    interaction: Interaction, message: str
) -> tuple[str, str, dict[str, Any]]:
    """Command, or modal not opened from a message: edit @original. Component, or modal opened
    from a message: an ephemeral follow-up, so the message holding the buttons is left alone."""
    base = f"/webhooks/{interaction.application_id}/{interaction.token}"
    if interaction.from_message:
        return "POST", base, {"content": message, "flags": EPHEMERAL}
    return "PATCH", base + "/messages/@original", {"content": message}


def _kind(path: str) -> str:
    return "@original" if path.endswith("@original") else "follow-up"
