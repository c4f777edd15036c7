"""Who is told about the secrets a simulator hands out: its bot token and every interaction
token it records. The test suite watches them so that its last test can look for them in the
captured logs; nothing else in the simulator depends on a watcher being present."""

from __future__ import annotations

from collections.abc import Callable

Watcher = Callable[[str], None]
_WATCHERS: list[Watcher] = []


def watch(watcher: Watcher) -> Callable[[], None]:
    """Call `watcher(value)` for each secret made from now on; returns the un-watch call."""
    _WATCHERS.append(watcher)
    return lambda: _WATCHERS.remove(watcher)


def announce(value: str) -> None:
    for watcher in list(_WATCHERS):
        watcher(value)
