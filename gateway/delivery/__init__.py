"""Deliveries to the main app: `sender.py`, the one signed, retried sender (`SignedSender`,
its `HttpPoster` on the server's client, gateway/rest/http_client.py), used by the league
timers (gateway/timers/) and the event batches (gateway/events/). Imports
`gateway.interactions.signatures` and `.trace` (the signing and the traceparent are written
once, there), `gateway.rest.http_client` and `gateway.clock`; nothing from `asgi_app/`."""
