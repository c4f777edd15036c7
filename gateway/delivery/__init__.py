"""Deliveries to the main app: `sender.py`, the one signed, retried sender (`SignedSender`,
its `HttpPoster` on the server's client, gateway/rest/http_client.py), used by the
interaction forwards (gateway/interactions/forward.py), the league timers (gateway/timers/)
and the event batches (gateway/events/); `signatures.py` (the HMAC and Ed25519 signatures of
every delivery, and their checks), `signing_key.py` (the forward key, FORWARD_SIGNING_KEY or
kept in STATE_DIR), `trace.py` (the W3C `traceparent`: one trace id per interaction or
delivery). Imports `gateway.rest`, `gateway.clock`, `gateway.backoff` and
`gateway.private_files`; no other room, nothing from `asgi_app/`."""
