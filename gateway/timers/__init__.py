"""League timers (CONTRACT.md "League timers"): pick clocks, deadlines and reminders kept for a
main app that cannot wait, delivered to it signed and retried, across restarts.

- `model.py`: `Timer` (a clock: started_at, run_ms, quiet hours; its due time and reminders),
  `Delivery` (one fire or reminder on its way, its body), `TimerSpec` (a validated POST).
- `quiet.py`: quiet hours in a time zone (zoneinfo): when a clock reaches zero, how long it
  ran between two instants.
- `schedule.py`: the heap of next events (O(log n) per fire, stale entries skipped).
- `engine.py`: `TimerEngine`, every change and what falls due (`tick`), written to the store
  before it is answered or delivered.
- the store (protocol, `MemoryTimerStore`, `open_timer_store`; SQLite in
  STATE_DIR/timers.sqlite3, Redis) is the journal's: gateway/journal/timers*.py.
- `sender.py`: re-exports the shared `SignedSender` (gateway/delivery/sender.py), the
  signed, retried POST of a delivery.
- `service.py`: `TimerService`, the runner task, the outbox sent again at start, stop.

Imports nothing from `asgi_app/`; the routes are `asgi_app/routes/timers.py`.
"""
