"""The Docker engine for the image tests: one build per session, containers run on the host
network (the machine has no bridge), removed afterwards with their volumes."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import subprocess
from dataclasses import dataclass, field

import httpx
import pytest

from tests.support.harness.process import ROOT

IMAGE = "draft-league-companion:test"


def require_docker() -> str:
    """The docker CLI with a daemon that answers; else skip (fail under REQUIRE_ALL=1)."""
    docker = shutil.which("docker")
    problem = "the docker CLI is not installed"
    if docker is not None:
        info = subprocess.run([docker, "info"], capture_output=True, text=True, check=False)
        if info.returncode == 0:
            return docker
        problem = "no Docker daemon answers `docker info`"
    if os.environ.get("REQUIRE_ALL") == "1":
        pytest.fail(problem + " (REQUIRE_ALL=1: .ci/run starts one with docker-engine.sh)")
    pytest.skip(problem)


def require_compose(docker: str | None = None) -> list[str]:
    """The compose command: `docker compose` (v2) or Debian's `docker-compose` (1.29, the same
    file format); else skip (fail under REQUIRE_ALL=1)."""
    docker = docker or shutil.which("docker")
    candidates = [[docker, "compose"]] if docker else []
    legacy = shutil.which("docker-compose")
    if legacy:
        candidates.append([legacy])
    for command in candidates:
        done = subprocess.run(
            [*command, "version"], capture_output=True, text=True, check=False, timeout=30
        )
        if done.returncode == 0:
            return command
    problem = "no compose answers (`docker compose` or `docker-compose`)"
    if os.environ.get("REQUIRE_ALL") == "1":
        pytest.fail(problem + " (REQUIRE_ALL=1: docker-engine.sh installs Debian's)")
    pytest.skip(problem)


def build_image(docker: str) -> str:
    done = subprocess.run(
        [docker, "build", "--network", "host", "-t", IMAGE, str(ROOT)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return IMAGE


async def run(
    docker: str, *args: str, timeout: float = 60, env: dict[str, str] | None = None
) -> tuple[int, str]:
    """`docker ARGS...` (or any command: compose's): exit status and output (stdout and stderr
    together); `env`: its whole environment (None: this process's)."""
    proc = await asyncio.create_subprocess_exec(
        docker, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    return proc.returncode if proc.returncode is not None else -1, out.decode(errors="replace")


@dataclass
class Containers:
    """Starts containers of the test image and removes them (and named volumes) at the end."""

    docker: str
    image: str
    names: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)

    def volume(self) -> str:
        name = f"companion-test-{secrets.token_hex(4)}"
        self.volumes.append(name)
        return name

    async def start(self, *options: str, env: dict[str, str]) -> str:
        name = f"companion-test-{secrets.token_hex(4)}"
        self.names.append(name)
        env_args = [arg for key, value in env.items() for arg in ("-e", f"{key}={value}")]
        code, out = await run(
            self.docker, "run", "-d", "--name", name, "--network", "host", *env_args,
            *options, self.image,
        )  # fmt: skip
        assert code == 0, out
        return name

    async def logs(self, name: str) -> str:
        return (await run(self.docker, "logs", name))[1]

    async def inspect(self, name: str, template: str) -> str:
        code, out = await run(self.docker, "inspect", "-f", template, name)
        assert code == 0, out
        return out.strip()

    async def wait_http(self, name: str, url: str, *, status: int = 200) -> httpx.Response:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        async with httpx.AsyncClient(timeout=2) as client:
            while loop.time() < deadline:
                if await self.inspect(name, "{{.State.Running}}") != "true":
                    raise AssertionError(f"container exited:\n{await self.logs(name)}")
                try:
                    answer = await client.get(url)
                    if answer.status_code == status:
                        return answer
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.3)
        raise AssertionError(f"{url} did not answer {status}:\n{await self.logs(name)}")

    async def remove_all(self) -> None:
        for name in self.names:
            await run(self.docker, "rm", "-f", "-v", name)  # -v: its anonymous volume too
        for volume in self.volumes:
            await run(self.docker, "volume", "rm", "-f", volume)
