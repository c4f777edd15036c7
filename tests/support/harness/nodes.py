"""Several server processes sharing the shards (SHARD_IDS=auto) through one redis-server,
against the simulator process: start, signal (SIGKILL, SIGSTOP/SIGCONT, SIGTERM) and restart
each node, and read who holds what from each node's /health/detailed."""

from __future__ import annotations

import asyncio
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.support.harness.app import AUTH_TOKEN
from tests.support.harness.process import ServerProcess
from tests.support.harness.server import free_port
from tests.support.harness.sim_process import SimProcess
from tests.support.harness.uvicorn_server import start_server

#: The shortened lease of the node tests (SHARD_LEASE_SECONDS: renewals every 1 s).
LEASE_SECONDS = 3.0


@dataclass
class Node:
    name: str
    state_dir: Path
    port: int
    process: ServerProcess | None = None
    outputs: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None and self.process.proc is not None
        return self.process.proc.pid

    def signal(self, sig: int) -> None:
        assert self.process is not None and self.process.proc is not None
        self.process.proc.send_signal(sig)


class Cluster:
    """`count` nodes on their own ports and STATE_DIRs, forwarding to the simulator process's
    main app; `env` is added to every node's settings."""

    def __init__(
        self,
        sim: SimProcess,
        redis_url: str,
        root: Path,
        count: int = 3,
        *,
        shards: int = 8,
        lease_seconds: float = LEASE_SECONDS,
        **env: str,
    ) -> None:
        self.sim = sim
        self.env = {
            "REDIS_URL": redis_url,
            "SHARD_IDS": "auto",
            "SHARD_COUNT": str(shards),
            "SHARD_LEASE_SECONDS": str(lease_seconds),
            **env,
        }
        self.shards = shards
        self.nodes = [Node(f"node{i}", root / f"node{i}", free_port()) for i in range(count)]
        self._http = httpx.AsyncClient(headers={"Authorization": AUTH_TOKEN}, timeout=5)

    async def start(self, node: Node) -> None:
        node.state_dir.mkdir(parents=True, exist_ok=True)
        node.process = start_server(self.sim, node.state_dir, node.port, **self.env)
        await node.process.wait_http(node.url + "/health")

    async def start_all(self) -> None:
        for node in self.nodes:  # in a row, as a deploy would (each ~2 s of imports)
            node.state_dir.mkdir(parents=True, exist_ok=True)
            node.process = start_server(self.sim, node.state_dir, node.port, **self.env)
        await asyncio.gather(
            *(n.process.wait_http(n.url + "/health") for n in self.nodes if n.process)
        )

    async def terminate(self, node: Node, sig: int = signal.SIGTERM) -> int:
        assert node.process is not None
        code = await node.process.terminate(sig)
        node.outputs.append(node.process.output)
        return code

    def kill(self, node: Node) -> None:
        assert node.process is not None
        node.signal(signal.SIGKILL)
        node.outputs.append(node.process.stop())

    async def detailed(self, node: Node) -> dict[str, Any] | None:
        try:
            answer = await self._http.get(node.url + "/health/detailed")
        except httpx.HTTPError:
            return None
        body: dict[str, Any] = answer.json()
        return body

    async def metrics(self, node: Node) -> dict[str, float]:
        """GET /metrics as {sample name with labels: value}."""
        text = (await self._http.get(node.url + "/metrics")).text
        samples: dict[str, float] = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                samples[name] = float(value)
        return samples

    async def holdings(self, nodes: list[Node] | None = None) -> dict[str, list[int]]:
        """node name -> the shards it runs READY (nodes that do not answer are left out)."""
        found: dict[str, list[int]] = {}
        for node in nodes if nodes is not None else self.nodes:
            body = await self.detailed(node)
            if body is None:
                continue
            shards = body["discord"]["shards"]
            found[node.name] = sorted(s["shard_id"] for s in shards if s["status"] == "ready")
        return found

    async def wait_balanced(self, nodes: list[Node] | None = None, timeout: float = 30) -> float:
        """Until `nodes` (default all) hold every shard once, READY, none more than one above
        another; returns how long it took."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        last: dict[str, list[int]] = {}
        while loop.time() - start < timeout:
            last = await self.holdings(nodes)
            every = sorted(s for held in last.values() for s in held)
            sizes = [len(held) for held in last.values()]
            if every == list(range(self.shards)) and sizes and max(sizes) - min(sizes) <= 1:
                return loop.time() - start
            await asyncio.sleep(0.1)
        raise AssertionError(f"not balanced within {timeout} s: {last}")

    def output(self, node: Node) -> str:
        text = "".join(node.outputs)
        if node.process is not None and node.process.proc is not None:
            text += node.process.read_output() if node.process.proc.poll() is None else ""
        return text

    async def close(self) -> None:
        for node in self.nodes:
            if node.process is not None and node.process.proc is not None:
                if node.process.proc.poll() is None:
                    node.signal(signal.SIGCONT)
                    try:
                        await self.terminate(node)
                    except AssertionError:
                        node.outputs.append(node.process.stop())
        await self._http.aclose()
