"""Interactions: admitted, answered in time (the first response), forwarded, delivered.

CONTRACT.md "An interaction, from Discord to the user"; the path through the files:
1. `model.Interaction.parse()` reads the interaction once (the gateway's INTERACTION_CREATE
   reaches `relay.on_dispatch` inline, no task hop; the HTTP endpoint calls `relay.submit`);
2. `relay.submit()`: admission (`admission.py`: another application, older than 3 s by
   Discord's clock `gateway/rest/discord_clock.py`, an id seen in the last 15 minutes), then
   one task per interaction;
3. the mode (`policy.py`: INTERACTION_RESPONSE + INTERACTION_POLICY) and the first response:
   `server_responses.py` is the one table (interaction type, mode) -> defer, with the fixed
   replies; `acknowledge.py` (`Acknowledger`) sends any first response, counts and journals it;
   `responder.py` is where it goes (the callback route, or the HTTP answer) and names the
   outcome (`AckOutcome`); in defer mode a first response Discord did not take means no forward
   (one without a clear answer is checked on Discord first: `Acknowledger`,
   `delivery.first_response_taken`);
4. `forward.py`: the signed POST to the main app (on its own `OriginClient`, at most
   FORWARD_MAX_IN_FLIGHT at once) and its retries; `respond_mode.py` (`RespondMode`): respond
   mode's window and autocomplete;
5. `answers.py`: the main app's answer, checked (types per interaction; the full schema comes
   from asgi_app as `answer_validator`), and how a late one is delivered; `delivery.py`
   (`UserDelivery`): the invalid-answer rule, the webhook calls (late answers, the error
   message told to the user); how each interaction ended: `stats.RelayResult`;
6. the journal (gateway/journal/interactions.py): what the relay tells it (claim, record,
   finish).

Nothing delays a first response: each interaction runs in its own task, and forwards hold back
while acknowledgements are pending, then start a few per turn of the event loop (`job.py`
`PendingAcks`). Logs carry the interaction id and type only: never an
interaction token or AUTH_TOKEN. `cooldown` is the per-message click window, `signatures` the
HMAC, `trace` the W3C `traceparent` of every delivery (one trace id per interaction, also on
its log lines), `stats` the counters read by /metrics and /health/detailed.
"""

from gateway.interactions.forward import new_forward_client
from gateway.interactions.relay import InteractionRelay
from gateway.interactions.signatures import sign, verify_signature

__all__ = ["InteractionRelay", "new_forward_client", "sign", "verify_signature"]
