"""The server under test as a real uvicorn process against a simulator process, on one
STATE_DIR (the crash test and the kill soak restart it on the same directory)."""

from __future__ import annotations

from pathlib import Path

from tests.support.harness.app import production_env
from tests.support.harness.process import VENV_BIN, ServerProcess, clean_env
from tests.support.harness.sim_process import SimProcess


def start_server(sim: SimProcess, state_dir: Path, port: int, **env: str) -> ServerProcess:
    """`asgi_app:app` in production mode, forwarding to the simulator process's main app."""
    environment = clean_env(
        **production_env(
            sim,
            state_dir,
            FORWARD_URL=sim.main_base,
            RATE_LIMIT_PER_MINUTE="1000000",
            FORWARD_TIMEOUT_SECONDS="10",
            **env,
        )
    )
    args = [
        str(VENV_BIN / "uvicorn"),
        "asgi_app:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "info",
    ]
    return ServerProcess(args, env=environment, cwd=state_dir).start()
