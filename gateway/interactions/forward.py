"""The forwards to the main app: their HTTP client (`new_forward_client`), their sender (the
shared signed, retried one, gateway/delivery/sender.py, with FORWARD_POLICY) and `Forwarder`,
which sends an interaction to its path."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from gateway.clock import SYSTEM_CLOCKS, Clocks
from gateway.delivery.sender import (
    FORWARD_HEADERS,
    FORWARD_POLICY,
    Outcome,
    Poster,
    RetryPolicy,
    SenderStats,
    SignedSender,
    Signer,
)
from gateway.interactions.model import Interaction
from gateway.interactions.server_responses import FORWARD_PATHS
from gateway.rest.http_client import ClientOptions, OriginClient
from gateway.rest.transport import RestResponse

#: Forwards in flight at once (FORWARD_MAX_IN_FLIGHT); more wait for a slot, counted in
#: `RelayStats.forwards_waiting` (/metrics). aiohttp's pool's cost per request does not grow
#: with the connections open, so the bound is there for the main app's sake, not the client's.
MAX_CONCURRENT_FORWARDS = 1000
#: The longest answer body the main app may give a forward: a longer one is a failed attempt
#: (AnswerTooLarge, like a garbled answer), read no further than this, so a misbehaving main
#: app cannot make 1,000 forwards in flight hold more than this much each.
MAX_ANSWER_BYTES = 1 << 20


def new_forward_client(
    forward_url: str,
    max_connections: int = MAX_CONCURRENT_FORWARDS,
    max_answer_bytes: int = MAX_ANSWER_BYTES,
) -> OriginClient:
    """The forwards' own client and pool to FORWARD_URL (never the REST client's or the
    callbacks'), as large as the forwards allowed in flight, so none queues inside it; answers
    over `max_answer_bytes` fail (gateway/rest/http_client.py)."""
    return OriginClient.open(
        forward_url,
        ClientOptions(max_connections=max_connections),
        max_answer_bytes=max_answer_bytes,
    )


def parse_choices(content: bytes) -> list[Any] | None:
    """The `choices` list of the main app's `{"choices": [...]}` (at most 25), else None."""
    try:
        data = orjson.loads(content)
    except orjson.JSONDecodeError:
        return None
    choices = data.get("choices") if isinstance(data, dict) else None
    return choices[:25] if isinstance(choices, list) else None


class Forwarder:
    """POST an interaction to `{FORWARD_URL}/command|component|modal|autocomplete` through the
    forwards' `SignedSender` (gateway/delivery/sender.py, built with `forward_sender`): signed,
    X-Interaction-Id on every attempt, FORWARD_POLICY's retries within the caller's budget."""

    def __init__(self, sender: SignedSender, forward_url: str) -> None:
        self.sender = sender
        base = forward_url.rstrip("/")
        self._urls = {kind: base + path for kind, path in FORWARD_PATHS.items()}

    def __repr__(self) -> str:  # never the auth token
        return f"Forwarder({self.sender!r})"

    @property
    def stats(self) -> SenderStats:
        return self.sender.stats

    async def send(
        self, interaction: Interaction, budget: float, headers: Mapping[str, str]
    ) -> tuple[RestResponse | None, bool]:
        """(2xx answer or None, whether it was retried). `headers`: X-Response-Mode etc."""
        body = interaction.raw
        report = await self.sender.send(
            self._urls[interaction.type],
            interaction.id,
            lambda _now: body,
            headers,
            budget=budget,
            label=f"interaction {interaction.id} type {interaction.type:d}: forward",
        )
        answer = report.answer if report.outcome is Outcome.DELIVERED else None
        return answer, report.attempts > 1


def forward_sender(
    poster: Poster,
    auth_token: str,
    *,
    timeout: float = 10.0,
    max_in_flight: int = MAX_CONCURRENT_FORWARDS,
    signers: Sequence[Signer] = (),
    legacy_auth: bool = False,
    policy: RetryPolicy = FORWARD_POLICY,
    clocks: Clocks = SYSTEM_CLOCKS,
) -> SignedSender:
    """The forwards' sender: FORWARD_URL's pool (`poster`), X-Interaction-Id, FORWARD_POLICY
    (`policy`: e.g. a shorter backoff in tests), at most `max_in_flight` forwards at once."""
    return SignedSender(
        poster,
        auth_token,  # held by the sender; never in a repr or log
        signers=signers,
        # FORWARD_LEGACY_AUTH: the token itself as Authorization, for a main app that does
        # not verify signatures yet. Otherwise the signatures alone prove a forward.
        legacy_auth=legacy_auth,
        timeout=timeout,
        max_in_flight=max_in_flight,
        policy=policy,
        id_headers=FORWARD_HEADERS,
        clocks=clocks,
    )
