"""Tokens in proxied paths never reach a log: the server as a process (uvicorn asgi_app:app,
its own logging) in front of the simulator, its whole output read."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx

from gateway.simulator import DiscordSimulator
from tests.support.harness.app import AUTH_TOKEN, production_env
from tests.support.harness.process import VENV_BIN, ServerProcess, clean_env
from tests.support.harness.server import free_port

#: Shaped like nothing the log scrubber knows: only the path redaction can hide it.
TOKEN = "plain-webhook-token-4711"


async def test_webhook_and_interaction_tokens_are_redacted_in_every_log_line(
    tmp_path: Path,
) -> None:
    async with DiscordSimulator(heartbeat_interval_ms=1000) as sim:
        port = free_port()
        env = clean_env(**production_env(sim, tmp_path, LOG_FORMAT="json", LOG_LEVEL="DEBUG"))
        args = [str(VENV_BIN / "uvicorn"), "asgi_app:app", "--port", str(port)]
        server = ServerProcess(args, env=env, cwd=tmp_path).start()
        base = f"http://127.0.0.1:{port}"
        try:
            await server.wait_http(base + "/livez")
            sim.rest.inject("/webhooks/*", 500, times=1)  # a retry: the client logs a warning
            app_id = sim.config.application_id
            async with httpx.AsyncClient(base_url=base, headers={"Authorization": AUTH_TOKEN}) as c:
                edit = await c.patch(
                    f"/discord/api/v10/webhooks/{app_id}/{TOKEN}/messages/@original",
                    json={"content": "x"},
                )
                callback = await c.post(
                    f"/discord/api/v10/interactions/77/{TOKEN}/callback", json={"type": 5}
                )
            assert (edit.status_code, callback.status_code) == (200, 204)
            assert len(sim.rest.find(None, f"*{TOKEN}*")) == 3  # the token did go to Discord
        finally:
            await server.terminate(signal.SIGTERM)
        output = server.output
        assert f"/discord/api/v10/webhooks/{app_id}/[token]/messages/@original" in output
        assert "/discord/api/v10/interactions/77/[token]/callback" in output
        assert "retrying" in output
        assert TOKEN not in output
