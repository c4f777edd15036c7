"""Gateway events and Discord's Webhook Events for the main app (CONTRACT "Gateway events for
the main app"; README "Gateway events for the main app"): filtered, journaled before the
gateway may checkpoint past them, delivered in each guild's order, in signed batches.

- `intents.py`: the intent each dispatch needs, the privileged ones.
- `filters.py`: EVENT_FORWARDS as `Forwards` (dispatch -> `Filter`: guilds, channels, bots,
  content_prefix), `guild_of` (an event's lane).
- `model.py`: `Event` (its JSON body made once, its journal row), the ids (a gateway
  dispatch: session key + seq; a Webhook Event: a hash of it), the batch's X-Delivery-Id.
- `store.py`: `Journal` (one writer, group commit, `flush()`: the checkpoint barrier),
  `EventStore` and `MemoryEventStore`, `open_event_store`; `store_sqlite.py`
  (STATE_DIR/events.sqlite3), `store_redis.py` (REDIS_URL).
- `lanes.py`: `Lanes`, one per guild, one batch at a time, the batch size and wait.
- `service.py`: `EventService`: the intake (inline in the dispatch loop; the dedupe of a
  replayed dispatch), the backlog bound, delivery through the shared `SignedSender`
  (gateway/delivery/), the dead letters, health.
- `stats.py`: counts by event type and the delivery latency (asgi_app/metrics.py names them).

Imports `gateway.delivery`, `gateway.interactions.stats` (the histogram), `gateway.clock` and
itself; never `gateway/connection/` (the shard is a protocol here, and the gateway calls
`barrier()` through `GatewayConfig.checkpoint_barrier`) nor `asgi_app/`.
"""
