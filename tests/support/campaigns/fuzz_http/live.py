"""The whole server (create_app, production settings, Discord simulator) on a loopback port,
served by uvicorn in a thread of its own so that synchronous fuzzers (schemathesis,
hypothesis with a blocking HTTP client) can hit it from the test's thread."""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import threading
from pathlib import Path
from types import TracebackType
from typing import Any

from tests.support.harness.server import serve

TOKEN = "fuzz-auth-token-" + "t" * 32
ORIGIN = "https://app.example.com"
#: High enough that the fuzzers never meet the per-address limit (it has its own tests).
FUZZ_RATE_LIMIT = 10_000_000
STARTUP_TIMEOUT = 30.0


class LiveServer:
    """`with LiveServer() as live: live.base_url ...`; `live.app` is the ServerApp."""

    def __init__(
        self,
        *,
        state_dir: Path | None = None,
        rate_limit_per_minute: int = FUZZ_RATE_LIMIT,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self._state_dir = state_dir
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.rate_limit_per_minute = rate_limit_per_minute
        self.extra_env = dict(extra_env or {})
        self.token = TOKEN
        self.origin = ORIGIN
        self.base_url = ""
        self.app: Any = None
        self.sim: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="fuzz-live-server", daemon=True)

    # -- the server thread ----------------------------------------------------------------
    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported to the starting thread
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        from asgi_app.factory import create_app
        from asgi_app.settings import load_settings
        from gateway.simulator import DiscordSimulator
        from tests.support.harness.logcapture import note_settings

        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        assert self._state_dir is not None
        sim = self.sim = DiscordSimulator()
        await sim.start()
        try:
            environ = {
                "APP_ENV": "production",
                "BOT_TOKEN": sim.token,
                "AUTH_TOKEN": self.token,
                "ORIGIN_URL": self.origin,
                "DISCORD_API_BASE": sim.api_base,
                "STATE_DIR": str(self._state_dir),
                "RATE_LIMIT_PER_MINUTE": str(self.rate_limit_per_minute),
                "LOG_LEVEL": "ERROR",
                **self.extra_env,
            }
            self.app = create_app(note_settings(load_settings(environ, env_file=None)))
            async with serve(
                self.app, lifespan="on", log_level="critical", timeout_graceful_shutdown=5
            ) as url:
                await sim.wait_ready(timeout=STARTUP_TIMEOUT)
                self.base_url = url
                self._ready.set()
                await self._stop.wait()
        finally:
            await sim.stop()

    # -- the caller's side ----------------------------------------------------------------
    def __enter__(self) -> LiveServer:
        if self._state_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="fuzz-http-")
            self._state_dir = Path(self._tmp.name)
        self._thread.start()
        if not self._ready.wait(STARTUP_TIMEOUT + 5):
            self.close()
            raise TimeoutError("the live server did not start")
        if self._error is not None:
            self.close()
            raise RuntimeError("the live server failed to start") from self._error
        return self

    def close(self) -> None:
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop already ended
                loop.call_soon_threadsafe(stop.set)
        if self._thread.is_alive():
            self._thread.join(STARTUP_TIMEOUT)
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def body_limit(self) -> int:
        limit: int = self.app.settings.body_limit_bytes
        return limit

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": self.token}
