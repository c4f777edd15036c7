"""The Docker image, built and run for real (`docker build/run --network host`): development
mode serves, the HEALTHCHECK turns healthy, uid 10001, a read-only root works, `docker stop`
saves the session and the next container resumes it, production without secrets exits."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from gateway.connection.session import FILE_NAME
from gateway.simulator import DiscordSimulator
from tests.ops.docker import Containers, build_image, require_docker, run
from tests.support.harness.app import AUTH_TOKEN, ORIGIN
from tests.support.harness.server import free_port

#: docker stop's grace (SIGTERM, then SIGKILL): the gunicorn graceful timeout is 30 s.
STOP_GRACE = 30


@pytest.fixture(scope="module")
def image() -> tuple[str, str]:
    docker = require_docker()
    return docker, build_image(docker)


@pytest.fixture
async def containers(image: tuple[str, str]) -> AsyncIterator[Containers]:
    box = Containers(*image)
    try:
        yield box
    finally:
        await box.remove_all()


def dev_env(port: int, **extra: str) -> dict[str, str]:
    return {"APP_ENV": "development", "PORT": str(port), "HOST": "127.0.0.1", **extra}


async def test_development_mode_serves_turns_healthy_and_runs_as_uid_10001(
    containers: Containers,
) -> None:
    port = free_port()
    name = await containers.start("--health-interval=1s", env=dev_env(port))
    base = f"http://127.0.0.1:{port}"
    await containers.wait_http(name, base + "/livez")
    async with httpx.AsyncClient(base_url=base, timeout=5) as http:
        health = await http.get("/health")
        assert health.status_code == 200 and health.json()["status"] == "ok", health.text
        client = await http.get("/overlay/static/socket.io.min.js")
        assert client.status_code == 200 and client.headers["content-type"].startswith(
            "text/javascript"
        )
        assert b"io" in client.content and len(client.content) > 10_000
        assert (await http.get("/overlay/static/overlay.js")).status_code == 200
        page = await http.get("/overlay/view/default")
        assert page.status_code == 200 and "socket.io.min.js" in page.text

    deadline = time.monotonic() + 30
    while (status := await containers.inspect(name, "{{.State.Health.Status}}")) != "healthy":
        assert status == "starting" and time.monotonic() < deadline, status
        await asyncio.sleep(0.5)

    code, uids = await run(
        containers.docker, "exec", name, "python", "-c",
        "import glob\n"
        "for f in glob.glob('/proc/[0-9]*/status'):\n"
        "    print([l.split()[1] for l in open(f) if l.startswith('Uid:')][0])",
    )  # fmt: skip
    assert code == 0, uids
    assert set(uids.split()) == {"10001"}, uids  # gunicorn, its worker, this exec
    logs = await containers.logs(name)
    assert "Control socket listening at /tmp/gunicorn.ctl" in logs, logs
    assert "Permission denied" not in logs and "Traceback" not in logs, logs


async def test_read_only_root_with_data_and_tmp_writable_serves_and_stores(
    containers: Containers,
) -> None:
    port = free_port()
    volume = containers.volume()
    name = await containers.start(
        "--read-only", "--tmpfs", "/tmp", "-v", f"{volume}:/data",
        env=dev_env(port, AUTH_TOKEN=AUTH_TOKEN),
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    await containers.wait_http(name, base + "/health")
    state = {
        "blue": {"score": 1, "name": "Blue", "primaryColor": "#00f", "secondaryColor": "#fff",
                 "logoUrl": "https://example.com/b.png"},
        "red": {"score": 0, "name": "Red", "primaryColor": "#f00", "secondaryColor": "#fff",
                "logoUrl": "https://example.com/r.png"},
        "maxScore": 3,
    }  # fmt: skip
    async with httpx.AsyncClient(base_url=base, timeout=5) as http:
        posted = await http.post("/overlay", json=state, headers={"Authorization": AUTH_TOKEN})
        assert posted.status_code == 200, posted.text
    code, stored = await run(containers.docker, "exec", name, "cat", "/data/overlays/default.json")
    assert code == 0 and '"Blue"' in stored, stored
    code, out = await run(containers.docker, "exec", name, "touch", "/app/x")
    assert code != 0 and "Read-only file system" in out, out


async def test_docker_stop_exits_0_in_the_grace_and_the_next_container_resumes(
    containers: Containers,
) -> None:
    async with DiscordSimulator(heartbeat_interval_ms=1000) as sim:
        port = free_port()
        volume = containers.volume()
        env = {
            "BOT_TOKEN": sim.token,
            "AUTH_TOKEN": AUTH_TOKEN,
            "ORIGIN_URL": ORIGIN,
            "DISCORD_API_BASE": sim.api_base,
            "PORT": str(port),
            "HOST": "127.0.0.1",
        }
        health = f"http://127.0.0.1:{port}/health"
        first = await containers.start("-v", f"{volume}:/data", env=env)
        await containers.wait_http(first, health)
        assert len(sim.identifies) == 1 and not sim.resumes

        started = time.monotonic()
        code, out = await run(
            containers.docker, "stop", "-t", str(STOP_GRACE), first, timeout=STOP_GRACE + 15
        )
        took = time.monotonic() - started
        assert code == 0, out
        assert took < STOP_GRACE, took  # ended by SIGTERM, not by docker's SIGKILL
        assert await containers.inspect(first, "{{.State.ExitCode}}") == "0"
        # The session is in the volume (read by a throwaway container of the same image).
        code, saved = await run(
            containers.docker, "run", "--rm", "--network", "host", "-v", f"{volume}:/data",
            containers.image, "cat", f"/data/{FILE_NAME}",
        )  # fmt: skip
        assert code == 0 and "session_id" in saved, saved
        assert sim.token not in saved

        second = await containers.start("-v", f"{volume}:/data", env=env)
        await containers.wait_http(second, health)
        await sim.wait_for(lambda: len(sim.resumes) == 1, 10)
        assert len(sim.identifies) == 1  # the second container RESUMEd the saved session


async def test_production_without_secrets_exits_non_zero_within_10_s_naming_each(
    containers: Containers,
) -> None:
    for _ in range(3):  # the host network is shared: a port taken meanwhile, another one
        started = time.monotonic()
        name = await containers.start(env={"PORT": str(free_port()), "HOST": "127.0.0.1"})
        try:
            code, status = await run(containers.docker, "wait", name, timeout=10)
        except TimeoutError:
            logs = await containers.logs(name)
            raise AssertionError(f"still running after 10 s:\n{logs}") from None
        took = time.monotonic() - started
        out = await containers.logs(name)
        if "Address already in use" not in out:
            break
    assert code == 0 and took < 10, (took, status)
    assert status.strip() == "3", out  # gunicorn halted: "Worker failed to boot"
    for variable in ("BOT_TOKEN", "AUTH_TOKEN", "ORIGIN_URL"):
        assert f"{variable}: required in production" in out, out
    assert out.count("Booting worker") == 1, out
