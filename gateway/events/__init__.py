"""Gateway events and Discord's Webhook Events for the main app (CONTRACT "Gateway events for
the main app"; README "Gateway events for the main app"): filtered, journaled before the
gateway may checkpoint past them, delivered in each guild's order, in signed batches.

- `intents.py`: the intent each dispatch needs, the privileged ones.
- `filters.py`: EVENT_FORWARDS as `Forwards` (dispatch -> `Filter`: guilds, channels, bots,
  content_prefix), `guild_of` (an event's lane).
- `model.py`: `Event` (its JSON body made once, its journal row), the ids (a gateway
  dispatch: session key + seq; a Webhook Event: a hash of it), the batch's X-Delivery-Id.
- `lanes.py`: `Lanes`, one per guild, one batch at a time, the batch size and wait, the
  shared POSTs of lanes waiting to fill.
- `service.py`: `EventService`: the intake (inline in the dispatch loop), the backlog bound,
  health; its journal is the events' store (gateway/journal/events*.py) behind the group
  commit, whose `flush()` is the checkpoint barrier.
- `journaling.py`: `Journaling`, what goes into that journal: one open change a transaction,
  an event delivered before its transaction withdrawn from it.
- `delivery.py`: `Deliveries`, a lane's batch and a shared POST of several lanes, through the
  shared `SignedSender` (gateway/delivery/).
- `webhooks.py`: `WebhookIntake`, Discord's Webhook Events in, each taken once (across nodes
  on a shared store).
- `marks.py`: `SessionMarks`, the dedupe of a replayed dispatch.
- `dead_letters.py`: `DeadLetters`, every node's, listed, replayed and forgotten in the store.
- `shards.py`: `ShardEvents`, which shard each pending event came on and which shards this
  node holds (with several nodes, a shard's events go with its lease).
- `stats.py`: counts by event type and the delivery latency (asgi_app/metrics.py names them).

Imports `gateway.delivery`, `gateway.journal`, `gateway.interactions.stats` (the histogram),
`gateway.clock` and itself; never `gateway/connection/` (the shard is a protocol here, and the
gateway calls `barrier()` through `GatewayConfig.checkpoint_barrier`) nor `asgi_app/`.
"""
