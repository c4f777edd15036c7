"""The Discord side of the server, one sub-package per job.

- `gateway.connection`: the gateway connection (shards, manager, protocol, compression,
  limiters, backoff, sessions);
- `gateway.rest`: the REST client (rate-limit buckets, global limit, HTTP/1.1 transport);
- `gateway.interactions`: the interaction relay (pipeline, first responses, signatures);
- `gateway.audit`: the audit log;
- `gateway.simulator`: a Discord stand-in for tests and benchmarks.

`gateway` never imports `asgi_app`.
"""
