"""ASGI lifespan: start-up hooks in order, shut-down hooks in reverse."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from asgi_app.http.types import Hook, Receive, Send

logger = logging.getLogger("asgi_app.http")


async def run_lifespan(
    receive: Receive,
    send: Send,
    startup: Sequence[Hook],
    shutdown: Sequence[Hook],
    prepare: Callable[[], None],
) -> None:
    message = await receive()
    if message["type"] != "lifespan.startup":
        return
    try:
        prepare()
        for hook in startup:
            await hook()
    except Exception as exc:
        logger.exception("start-up failed: %s", _describe(exc))
        await send({"type": "lifespan.startup.failed", "message": _describe(exc)})
        return
    await send({"type": "lifespan.startup.complete"})

    message = await receive()
    if message["type"] != "lifespan.shutdown":
        return
    failures: list[str] = []
    for hook in reversed(shutdown):
        try:
            await hook()
        except Exception as exc:
            logger.exception("shut-down hook failed: %s", _describe(exc))
            failures.append(_describe(exc))
    if failures:
        await send({"type": "lifespan.shutdown.failed", "message": "; ".join(failures)})
    else:
        await send({"type": "lifespan.shutdown.complete"})


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
