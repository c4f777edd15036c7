"""deploy/compose.yaml: compose accepts it, and the stack (the image, Redis, two nodes behind
nginx, host network) comes up on the local engine and carries interactions: one over the
gateway to the node that holds its shard, one as Discord's HTTP POST through nginx; an overlay
state posted through nginx is read from both nodes (Redis); the operator command runs inside a
node. Discord is the simulator and the main app a stand-in, both in this process on loopback."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from gateway.delivery.signatures import load_public_key, public_key_hex, verify_ed25519
from gateway.delivery.signing_key import key_from_hex
from gateway.delivery.trace import parse_traceparent, trace_id_for
from gateway.simulator import DiscordSimulator
from gateway.simulator.http_delivery import HttpDelivery
from tests.ops.docker import build_image, require_compose, require_docker, run
from tests.overlay.helpers import overlay_data
from tests.support.harness.main_app import MainApp
from tests.support.harness.process import ROOT
from tests.support.harness.server import free_port, serve

DEPLOY = ROOT / "deploy"
COMPOSE_FILE = DEPLOY / "compose.yaml"
AUTH_TOKEN = "compose-test-auth-token-0123456789abcdef"


def _compose_env() -> dict[str, str]:
    """Only what the compose client needs: nothing of the test run reaches the interpolation."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/")}
    for name in ("DOCKER_HOST", "DOCKER_CONFIG"):
        if name in os.environ:
            env[name] = os.environ[name]
    return env


def _config(compose: list[str], env_file: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*compose, "-f", str(COMPOSE_FILE), "--env-file", str(env_file), "config"],
        capture_output=True, text=True, env=_compose_env(), timeout=60, check=False,
    )  # fmt: skip


def test_compose_accepts_the_file_with_the_example_env_and_names_what_is_missing(
    tmp_path: Path,
) -> None:
    compose = require_compose()
    done = _config(compose, DEPLOY / "example.env")
    assert done.returncode == 0, done.stdout + done.stderr
    config = done.stdout
    for service in ("redis:", "companion-1:", "companion-2:", "nginx:"):
        assert service in config, config
    assert config.count("network_mode: host") == 4, config
    assert "REDIS_URL: redis://127.0.0.1:6379/0" in config
    # The nodes share the shards by lease (CONTRACT "Several nodes"), none pinned.
    assert config.count("SHARD_IDS: auto") == 2, config

    lacking = tmp_path / "lacking.env"
    lacking.write_text("BOT_TOKEN=x\nORIGIN_URL=https://app.example.com\n")
    refused = _config(compose, lacking)
    assert refused.returncode != 0
    assert "set AUTH_TOKEN in deploy/.env" in refused.stdout + refused.stderr


def _nginx_conf(listen: int, node_ports: tuple[int, int]) -> str:
    """deploy/nginx.conf with its ports changed, nothing else."""
    config = (DEPLOY / "nginx.conf").read_text()
    for old, new in (
        ("listen 80;", f"listen 127.0.0.1:{listen};"),
        ("server 127.0.0.1:8001; server 127.0.0.1:8002;",
         f"server 127.0.0.1:{node_ports[0]}; server 127.0.0.1:{node_ports[1]};"),
    ):  # fmt: skip
        assert old in config, old
        config = config.replace(old, new)
    return config


@dataclass
class Stack:
    compose: list[str]
    env_file: Path
    project: str
    nginx: str
    nodes: tuple[str, str]

    def command(self, *args: str) -> list[str]:
        return [*self.compose, "-p", self.project, "-f", str(COMPOSE_FILE),
                "--env-file", str(self.env_file), *args]  # fmt: skip

    async def run(self, *args: str, timeout: float = 120) -> tuple[int, str]:
        return await run(*self.command(*args), timeout=timeout, env=_compose_env())

    async def wait_http(self, url: str, *, status: int = 200, timeout: float = 90) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        last = "no answer"
        async with httpx.AsyncClient(timeout=3) as client:
            while loop.time() < deadline:
                try:
                    answer = await client.get(url)
                    if answer.status_code == status:
                        return
                    last = f"{answer.status_code} {answer.text[:200]}"
                except httpx.TransportError as exc:
                    last = type(exc).__name__
                await asyncio.sleep(0.3)
        logs = (await self.run("logs", "--no-color", "--tail", "60", timeout=60))[1]
        raise AssertionError(f"{url} did not answer {status} ({last}):\n{logs}")


@pytest.fixture(scope="module")
def image() -> Iterator[str]:
    docker = require_docker()
    require_compose(docker)
    yield build_image(docker)


@pytest.fixture
async def sim() -> AsyncIterator[DiscordSimulator]:
    async with DiscordSimulator(shards=2, heartbeat_interval_ms=5000) as simulator:
        yield simulator


async def test_the_stack_carries_interactions_through_both_nodes_and_nginx(
    image: str, sim: DiscordSimulator, tmp_path: Path
) -> None:
    compose = require_compose()
    main_app = MainApp()
    seed = secrets.token_hex(32)
    public_key = public_key_hex(key_from_hex(seed))
    nginx_port, node_ports, redis_port = free_port(), (free_port(), free_port()), free_port()
    nginx_conf = tmp_path / "nginx.conf"
    nginx_conf.write_text(_nginx_conf(nginx_port, node_ports))
    async with (
        serve(main_app) as origin,
        HttpDelivery(sim, f"http://127.0.0.1:{nginx_port}/interactions") as discord_http,
    ):
        env_file = tmp_path / "stack.env"
        env_file.write_text(
            "\n".join(
                f"{key}={value}"
                for key, value in {
                    "COMPANION_IMAGE": image,
                    "NGINX_CONF": str(nginx_conf),
                    "BOT_TOKEN": sim.token,
                    "AUTH_TOKEN": AUTH_TOKEN,
                    "ORIGIN_URL": origin,
                    "FORWARD_SIGNING_KEY": seed,
                    "DISCORD_API_BASE": sim.api_base,
                    "DISCORD_PUBLIC_KEY": discord_http.public_key,
                    "NODE1_PORT": str(node_ports[0]),
                    "NODE2_PORT": str(node_ports[1]),
                    "REDIS_PORT": str(redis_port),
                }.items()
            )
            + "\n"
        )
        stack = Stack(
            compose,
            env_file,
            f"companion-test-{secrets.token_hex(4)}",
            f"http://127.0.0.1:{nginx_port}",
            (f"http://127.0.0.1:{node_ports[0]}", f"http://127.0.0.1:{node_ports[1]}"),
        )
        try:
            code, out = await stack.run("up", "-d", "--no-build", timeout=180)
            assert code == 0, out
            # SHARD_IDS=auto: a node that starts alone takes both shards and hands one over
            # when the other shows up; once balanced, each node's one shard is READY (200).
            await _the_nodes_share_the_shards_by_lease(stack)
            for node in stack.nodes:
                await stack.wait_http(node + "/health")  # 200: its gateway shard is READY
            await stack.wait_http(stack.nginx + "/health")
            await sim.wait_ready(0, timeout=30)
            await sim.wait_ready(1, timeout=30)
            await _gateway_interaction_reaches_the_main_app(sim, main_app, public_key)
            await _http_interaction_through_nginx(discord_http, main_app, public_key)
            await _overlay_state_is_shared_through_redis(stack)
            await _operator_commands_run_in_a_node(stack, public_key)
        finally:
            await stack.run("down", "-v", "--timeout", "10", timeout=120)


async def _forward_of(main_app: MainApp, interaction_id: str) -> dict[str, str]:
    for _ in range(200):
        for request in main_app.requests:
            if request.headers.get("x-interaction-id") == interaction_id:
                assert orjson.loads(request.body)["id"] == interaction_id
                return request.headers
        await asyncio.sleep(0.05)
    raise AssertionError(f"interaction {interaction_id} was not forwarded")


def _signed_and_traced(main_app: MainApp, headers: dict[str, str], public_key: str) -> None:
    """Signed with FORWARD_SIGNING_KEY (both nodes share it), the interaction's trace id."""
    forwarded = next(r for r in main_app.requests if r.headers is headers)
    assert verify_ed25519(
        load_public_key(public_key),
        headers["x-signature-timestamp"],
        forwarded.body,
        headers["x-signature-ed25519"],
    )
    parsed = parse_traceparent(headers["traceparent"])
    assert parsed is not None, headers["traceparent"]
    assert parsed[0] == trace_id_for(headers["x-interaction-id"])
    assert "authorization" not in headers


async def _the_nodes_share_the_shards_by_lease(stack: Stack) -> None:
    """SHARD_IDS=auto: both nodes see each other live and hold one shard each (balanced
    within 30 s), no shard twice, none free."""
    auth = {"Authorization": AUTH_TOKEN}
    views: list[dict[str, Any]] = []
    async with httpx.AsyncClient(timeout=10) as http:
        for _ in range(180):
            views = []
            for node in stack.nodes:
                try:  # 503 until its shards are READY, but the body says who holds what
                    answer = await http.get(node + "/health/detailed", headers=auth)
                except httpx.TransportError:
                    views.append({"node": node, "holders": {}, "free": [0, 1], "live_nodes": []})
                    continue
                assert answer.status_code in (200, 503), answer.text
                views.append(answer.json()["discord"].get("leases") or {"holders": {}, "free": [0]})
            holders = [sorted(view["holders"].values()) for view in views]
            if all(h == [[0], [1]] for h in holders) and all(not v["free"] for v in views):
                break
            await asyncio.sleep(0.5)
        else:
            raise AssertionError(f"the nodes do not hold one shard each: {views}")
    assert {str(view["node"]) for view in views} == set(views[0]["holders"]), views
    assert all(len(view["live_nodes"]) == 2 for view in views), views


async def _gateway_interaction_reaches_the_main_app(
    sim: DiscordSimulator, main_app: MainApp, public_key: str
) -> None:
    """Each shard is held by one node (SHARD_IDS=auto): the node that holds it acknowledges
    and forwards the interaction of its shard, signed with the shared key."""
    for shard in (0, 1):
        sent = await sim.send_interaction(
            {"type": 2, "guild_id": "1", "data": {"id": "7", "name": "draft", "type": 1}},
            shard_id=shard,
        )
        headers = await _forward_of(main_app, sent["id"])
        _signed_and_traced(main_app, headers, public_key)
        record = sim.interaction(sent["id"])
        assert record is not None and record.ack_type == 5, record


async def _http_interaction_through_nginx(
    discord_http: HttpDelivery, main_app: MainApp, public_key: str
) -> None:
    assert await discord_http.validate_endpoint()  # what the developer portal checks
    delivery = await discord_http.deliver(
        {"type": 2, "guild_id": "1", "data": {"id": "8", "name": "pick", "type": 1}}
    )
    assert delivery.accepted, (delivery.status, delivery.problem, delivery.answer)
    assert delivery.answer == {"type": 5}
    interaction_id = delivery.interaction["id"]
    headers = await _forward_of(main_app, interaction_id)
    _signed_and_traced(main_app, headers, public_key)


async def _overlay_state_is_shared_through_redis(stack: Stack) -> None:
    state = overlay_data(blue=2, red=1, max_score=3)
    auth = {"Authorization": AUTH_TOKEN}
    async with httpx.AsyncClient(timeout=10) as http:
        posted = await http.post(stack.nginx + "/overlay/finals", json=state, headers=auth)
        assert posted.status_code == 200, posted.text
        for node in stack.nodes:  # whichever node nginx chose, both read it from Redis
            read = await http.get(node + "/overlay/finals", headers=auth)
            assert read.status_code == 200, read.text
            assert read.json()["blue"]["score"] == 2, read.text
        hidden = await http.get(stack.nginx + "/metrics", headers=auth)
        assert hidden.status_code == 404  # Prometheus scrapes the nodes, not the round robin
        scraped = await http.get(stack.nodes[0] + "/metrics", headers=auth)
        assert "redis_up 1.0" in scraped.text, scraped.text[:2000]


async def _operator_commands_run_in_a_node(stack: Stack, public_key: str) -> None:
    async def command(node: str, *args: str) -> tuple[int, str]:
        return await stack.run("exec", "-T", node, "python", "-m", "asgi_app", *args)

    code, out = await command("companion-1", "check")
    assert code == 0 and "settings OK (production mode)" in out, out
    code, out = await command("companion-2", "public-key")
    assert code == 0 and out.strip().splitlines()[-1] == public_key, out
    code, out = await command("companion-1", "journal", "--json")
    assert code == 0, out
    report = orjson.loads(out.strip().splitlines()[-1])
    assert report["store"] == "redis" and report["dead"] == 0, report
    code, out = await command("companion-2", "token-check")
    assert code == 0 and "BOT_TOKEN works" in out, out
