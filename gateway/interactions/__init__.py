"""Interactions: acknowledge within Discord's 3 s window, forward, tell the user on failure.

CONTRACT.md "An interaction, from the gateway to the user":
1. interactions of another application are ignored;
2. acknowledge first (`POST /interactions/{id}/{token}/callback`): command -> type 5,
   component -> type 6 (a second click on the same message within 3 s -> the ephemeral
   cooldown reply, not forwarded), modal -> type 6 when it came from a message, else type 5;
   autocomplete has no defer: it is answered with type 8 from the main app's choices;
3. forward the interaction, exactly as received, signed with HMAC-SHA256 over
   `timestamp + "." + body` keyed with AUTH_TOKEN;
4. retry connection errors, timeouts, 502/503/504 (3 attempts within 60 s, same
   X-Interaction-Id); on final failure edit @original (command, modal) or send an ephemeral
   follow-up (component: the buttons message is left as it was).

Each interaction runs in its own task, so nothing (a slow main app, other interactions, a
rate-limited bucket of another route) delays an acknowledgement. Logs carry the interaction id
and type only: never an interaction token or AUTH_TOKEN.

Modules: `relay` (the pipeline), `first_response` (interaction types and what answers them
first), `cooldown` (the per-message click window), `forward` (the forward client and its
retry rules), `signatures` (HMAC sign/verify), `stats`.
"""

from gateway.interactions.forward import new_forward_client
from gateway.interactions.relay import InteractionRelay
from gateway.interactions.signatures import sign, verify_signature

__all__ = ["InteractionRelay", "new_forward_client", "sign", "verify_signature"]
