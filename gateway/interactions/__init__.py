"""Interactions: admitted, answered in time (the first response), forwarded, delivered.

CONTRACT.md "An interaction, from Discord to the user". The path an interaction follows
through these files is written once, in docs/ARCHITECTURE.md ("The path of an interaction");
`relay.py` is its entry.

Nothing delays a first response: each interaction runs in its own task, and forwards hold back
while acknowledgements are pending, then start a few per turn of the event loop (`job.py`
`PendingAcks`). Logs carry the interaction id and type only: never an
interaction token or AUTH_TOKEN. `cooldown` is the per-message click window, `options` what the
settings decide (`RelayOptions`), `stats` the counters read by /metrics and /health/detailed.
The signatures and the W3C `traceparent` (one trace id per interaction, also on its log
lines) are the delivery room's: gateway/delivery/.
"""

from gateway.interactions.forward import new_forward_client
from gateway.interactions.relay import InteractionRelay

__all__ = ["InteractionRelay", "new_forward_client"]
