"""The journal: the one durable store of the server (what a SIGKILL must not lose), one
interface per kind with SQLite (STATE_DIR), Redis (REDIS_URL) and in-memory implementations.

- `interactions.py`: `JournalEntry`, the `Journal` protocol, `MemoryJournal`;
  `interactions_sqlite.py`, `interactions_redis.py` (with `redis_pipeline.py`), and
  `interactions_replay.py` (`open_journal`, the replay at start and after an adoption).
- `events.py`: the events' store (`EventStore`, `MemoryEventStore`, `open_event_store`,
  `events_writer`); `events_sqlite.py`, `events_redis.py`.
- `timers.py`: the timers' store (`TimerStore`, `MemoryTimerStore`, `open_timer_store`);
  `timers_sqlite.py`, `timers_redis.py`.
- `group_commit.py`: `GroupCommit`, the queue of changes written in batches, used by the
  events and timers stores.
- `seen.py`: `SeenIds`, ids seen lately in bounded memory (handled interactions, Webhook
  Events), whose durable part is in the stores.

A store keeps bytes and gives them back; the rooms (gateway/interactions, events, timers)
decode them. It imports no other room of `gateway/` but `gateway.clock`, `gateway.backoff`,
`gateway.private_files` and `gateway.redis_client` (docs/ARCHITECTURE.md, "The journal").
"""
