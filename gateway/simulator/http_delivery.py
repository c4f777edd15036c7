"""Discord's HTTP delivery: interactions POSTed to an application's Interactions Endpoint URL.

As Discord does: each request is signed with the simulator's own Ed25519 key (hex
`X-Signature-Ed25519` over `X-Signature-Timestamp + body`), the answer is the interaction's
first response and must come within 3 s, as JSON with a callback type the interaction can
take. `validate_endpoint()` is the check Discord runs when the URL is saved in the developer
portal: a signed PING answered `{"type": 1}`, and a badly signed one refused with 401.

The interaction is recorded in the simulator's interaction log like a gateway one, so a
callback POST after the HTTP answer gets 40060, and the webhook routes (@original edits,
follow-ups) work once the answer was accepted.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from gateway.simulator.callbacks import CALLBACK_TYPES, callback_refusal
from gateway.simulator.interaction_log import InteractionRecord

if TYPE_CHECKING:
    from gateway.simulator.simulator import DiscordSimulator

#: Discord gives an endpoint this long to answer before "This interaction failed".
ANSWER_DEADLINE = 3.0
USER_AGENT = "Discord-Interactions/1.0 (+https://discord.com)"


@dataclass(eq=False)
class Delivery:
    """One POST to the endpoint and what came back."""

    interaction: dict[str, Any]
    body: bytes
    status: int | None = None  # None: no answer (timeout, connection error)
    answer: Any = None  # the decoded JSON answer
    elapsed: float = 0.0  # seconds from sending to the whole answer read
    problem: str | None = None  # why Discord would show "This interaction failed"
    headers: dict[str, str] = field(default_factory=dict)  # of the answer

    @property
    def accepted(self) -> bool:
        """The answer counted as the interaction's first response."""
        return self.problem is None


class HttpDelivery:
    """POSTs interactions to `url` the way Discord does; `public_key` is what the application
    registers (DISCORD_PUBLIC_KEY)."""

    def __init__(
        self,
        sim: DiscordSimulator,
        url: str,
        *,
        key: Ed25519PrivateKey | None = None,
        deadline: float = ANSWER_DEADLINE,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.sim = sim
        self.url = url
        self.deadline = deadline
        self._key = key or Ed25519PrivateKey.generate()
        self._client = client or httpx.AsyncClient()
        self._own_client = client is None
        self.public_key = self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
        self.deliveries: list[Delivery] = []

    async def aclose(self) -> None:
        if self._own_client:
            await self._client.aclose()

    async def __aenter__(self) -> HttpDelivery:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    def sign(self, timestamp: str, body: bytes) -> str:
        return self._key.sign(timestamp.encode("ascii") + body).hex()

    async def validate_endpoint(self) -> bool:
        """Discord's check of a new Interactions Endpoint URL: a signed PING answered with
        `{"type": 1}`, and the same PING with a wrong signature answered 401."""
        ping = orjson.dumps(self._fill({"type": 1}))
        good = await self.post(ping)
        if good.status != 200 or not isinstance(good.answer, dict) or good.answer != {"type": 1}:
            return False
        bad = await self.post(ping, signature=secrets.token_hex(64))
        return bad.status == 401

    async def deliver(self, interaction: dict[str, Any] | None = None) -> Delivery:
        """POST one interaction (id, token, application_id filled when missing); its answer is
        checked and, when acceptable, recorded as the first response."""
        payload = self._fill(dict(interaction or {}))
        record = InteractionRecord(payload, shard_id=-1)
        self.sim.interactions.add(record)
        record.sent_at = self.sim.config.clock()
        delivery = await self.post(orjson.dumps(payload), payload=payload)
        if delivery.problem is None:
            delivery.problem = self._answer_problem(record, delivery)
        if delivery.problem is None:
            record.acked_at = record.sent_at + delivery.elapsed
            record.ack_type = int(delivery.answer["type"])
        self.sim.notify()
        return delivery

    async def post(
        self,
        body: bytes,
        *,
        payload: dict[str, Any] | None = None,
        signature: str | None = None,
        timestamp: str | None = None,
    ) -> Delivery:
        """One signed POST of `body` (a wrong `signature`/`timestamp` may be given)."""
        stamp = timestamp if timestamp is not None else str(int(self.sim.config.wall_clock()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Signature-Ed25519": signature if signature is not None else self.sign(stamp, body),
            "X-Signature-Timestamp": stamp,
        }
        delivery = Delivery(payload if payload is not None else orjson.loads(body), body)
        started = time.monotonic()
        try:
            response = await self._client.post(
                self.url, content=body, headers=headers, timeout=self.deadline
            )
        except httpx.TimeoutException:
            delivery.problem = f"no answer within {self.deadline:g} s"
        except httpx.HTTPError as exc:
            delivery.problem = f"request failed: {type(exc).__name__}"
        else:
            delivery.status = response.status_code
            delivery.headers = dict(response.headers)
            try:
                delivery.answer = orjson.loads(response.content)
            except orjson.JSONDecodeError:
                delivery.problem = "the answer is not JSON"
        delivery.elapsed = time.monotonic() - started
        if delivery.problem is None and delivery.elapsed > self.deadline:
            delivery.problem = f"no answer within {self.deadline:g} s"
        self.deliveries.append(delivery)
        return delivery

    def _answer_problem(self, record: InteractionRecord, delivery: Delivery) -> str | None:
        if delivery.status != 200:
            return f"answered {delivery.status}"
        if not delivery.headers.get("content-type", "").startswith("application/json"):
            return "the answer is not application/json"
        answer = delivery.answer
        kind = answer.get("type") if isinstance(answer, dict) else None
        if not isinstance(kind, int) or kind not in CALLBACK_TYPES:
            return "the answer is not an interaction response"
        refusal = callback_refusal(record, answer)  # what the callback route would refuse
        if refusal is not None:
            return f"Discord refuses it: {orjson.dumps(refusal.json).decode()}"
        return None

    def _fill(self, payload: dict[str, Any]) -> dict[str, Any]:
        payload.setdefault("id", self.sim.ids.next())
        payload.setdefault("token", "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(48))
        payload.setdefault("application_id", self.sim.config.application_id)
        payload.setdefault("type", 2)
        payload.setdefault("version", 1)
        return payload
