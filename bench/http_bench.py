"""Requests per second against a bare ASGI floor: the server's own routes and the framework.

Every app runs as its own uvicorn process with the same settings (uvloop, httptools, one
process) and is loaded by the same generator in a separate process (`wrk -t1` when installed,
else bench/http_load.py), in alternating rounds within one run:
- `floor`: a bare ASGI callable (bench/http_apps.py `bare`), the most uvicorn can serve;
- `contract floor`: the same callable plus the headers the contract puts on every answer and
  one prebuilt access line per request (`contract_floor`): the most any app answering as the
  contract asks could serve, with no routing, middleware or formatting at all;
- `server`: the real `asgi_app:app` with its access log on as in production (LOG_LEVEL=INFO,
  LOG_FORMAT=json, one line per request to stderr, here a file), `GET /` and an authorised
  `POST /overlay` (validated OverlayData, stored, published);
- `asgi_app.http` and `starlette`: the same validated `POST /teams` in each framework.
Each load is reported as a ratio of the floor serving the same request (median of per-round
ratios), with requests per server CPU-second and the time each server waited for a CPU
(/proc/<pid>/schedstat: on a shared machine, a large wait means the figures are load).

    .venv/bin/python bench/http_bench.py [--rounds 5] [--seconds 3] [--connections 32]
        [--only "GET /"]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

from tests.support.harness.http_floor import SERVER_ENV, TOKEN

ROOT = Path(__file__).resolve().parents[1]
TEAM = {"name": "Blue Team", "score": 1, "primaryColor": "#0044ff", "players": ["ann", "bob"]}


def _team(name: str, score: int) -> dict[str, object]:
    return {
        "score": score,
        "name": name,
        "primaryColor": "#112233",
        "secondaryColor": "#445566",
        "logoUrl": f"https://example.test/{name.lower()}.png",
    }


OVERLAY = {"blue": _team("Blue", 1), "red": _team("Red", 0), "maxScore": 2}
SERVERS = {
    "floor": "http_apps:bare",
    "contract floor": "http_apps:contract_floor",
    "server": "asgi_app:app",
    "asgi_app.http": "http_apps:ours",
    "starlette": "http_apps:starlette",
}


@dataclass(frozen=True)
class Load:
    server: str
    method: str
    path: str
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def request(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def name(self) -> str:
        return f"{self.server} {self.request}"


JSON = {"Content-Type": "application/json"}
AUTH = {**JSON, "Authorization": f"Bearer {TOKEN}"}
LOADS = [
    Load("server", "GET", "/"),
    Load("floor", "GET", "/"),
    Load("contract floor", "GET", "/"),
    Load("server", "POST", "/overlay", json.dumps(OVERLAY).encode(), AUTH),
    Load("floor", "POST", "/overlay", json.dumps(OVERLAY).encode(), AUTH),
    Load("asgi_app.http", "POST", "/teams", json.dumps(TEAM).encode(), JSON),
    Load("starlette", "POST", "/teams", json.dumps(TEAM).encode(), JSON),
    Load("floor", "POST", "/teams", json.dumps(TEAM).encode(), JSON),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(name: str, port: int, tmp: Path, log: IO[bytes]) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'bench'}"}
    if name == "server":
        env.update(SERVER_ENV, STATE_DIR=str(tmp / "state"))
    command = [sys.executable, "-m", "uvicorn", SERVERS[name], "--host", "127.0.0.1"]
    command += ["--port", str(port), "--loop", "uvloop", "--http", "httptools"]
    command += ["--no-access-log", "--log-level", "warning"]  # uvicorn's own; ours stays on
    return subprocess.Popen(command, env=env, cwd=tmp, stderr=log)


def wait_ready(port: int, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(600):
        if proc.poll() is not None:
            raise SystemExit(f"server on {port} exited with {proc.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/", timeout=1).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise SystemExit(f"server on {port} did not start")


def check(load: Load, port: int) -> None:
    url = f"http://127.0.0.1:{port}{load.path}"
    answer = httpx.request(load.method, url, content=load.body or None, headers=load.headers)
    assert 200 <= answer.status_code < 300, (load.name, answer.status_code, answer.text)
    if load.request == "GET /":
        assert answer.text == "App is running", answer.text
    if load.server == "server":
        assert answer.headers["x-content-type-options"] == "nosniff", answer.headers
    if load.server in ("asgi_app.http", "starlette"):
        bad = httpx.post(url, json={"name": "", "score": -1, "primaryColor": ""})
        assert bad.status_code == 422 and len(bad.json()["errors"]) == 3, bad.text


def check_contract_floor(ports: dict[str, int]) -> None:
    """The contract floor answers GET / with the server's header names, no more, no less."""
    names = {}
    for server in ("server", "contract floor"):
        answer = httpx.get(f"http://127.0.0.1:{ports[server]}/")
        names[server] = sorted(answer.headers.keys())
    assert names["server"] == names["contract floor"], names


def schedstat(pid: int) -> tuple[float, float]:
    """(CPU seconds, seconds runnable but waiting for a CPU) of a process (Linux)."""
    try:
        cpu, wait, _slices = Path(f"/proc/{pid}/schedstat").read_text().split()
    except OSError:
        return 0.0, 0.0
    return int(cpu) / 1e9, int(wait) / 1e9


def wrk_script(load: Load, tmp: Path) -> Path:
    script = tmp / f"{abs(hash(load.name))}.lua"
    lines = [f'wrk.method = "{load.method}"']
    lines += [f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in load.headers.items()]
    if load.body:
        lines.append(f"wrk.body = {json.dumps(load.body.decode())}")
    script.write_text("\n".join(lines) + "\n")
    return script


def load_wrk(wrk: str, load: Load, port: int, seconds: float, conns: int, tmp: Path) -> int:
    url = f"http://127.0.0.1:{port}{load.path}"
    command = [wrk, "-t1", f"-c{conns}", f"-d{seconds:g}s", "-s", str(wrk_script(load, tmp)), url]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise SystemExit(f"wrk saw errors on {load.name}:\n{out}")
    total = re.search(r"(\d+) requests in", out)
    assert total, out
    return int(total.group(1))


def load_python(load: Load, port: int, seconds: float, conns: int, tmp: Path) -> int:
    body_file = tmp / "body"
    body_file.write_bytes(load.body)
    command = [sys.executable, str(ROOT / "bench" / "http_load.py"), "127.0.0.1", str(port)]
    command += [load.path, str(seconds), str(conns), str(body_file), load.method]
    command += [f"{k}: {v}" for k, v in load.headers.items() if k != "Content-Type"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    result = json.loads(out)
    if result["bad"]:
        raise SystemExit(f"load generator saw {result['bad']} non-2xx answers on {load.name}")
    return int(result["requests"])


@dataclass
class Figures:
    rps: list[float] = field(default_factory=list)
    per_cpu: list[float] = field(default_factory=list)
    waited: float = 0.0
    cpu: float = 0.0


def run(args: argparse.Namespace, loads: list[Load], tmp: Path) -> dict[str, Figures]:
    wrk = shutil.which("wrk") if args.client in ("auto", "wrk") else None
    if args.client == "wrk" and not wrk:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")

    def drive(load: Load, seconds: float) -> tuple[int, float]:
        start = time.perf_counter()
        if wrk:
            count = load_wrk(wrk, load, ports[load.server], seconds, args.connections, tmp)
        else:
            count = load_python(load, ports[load.server], seconds, args.connections, tmp)
        return count, time.perf_counter() - start

    names = list(dict.fromkeys(load.server for load in loads))
    ports = {name: free_port() for name in names}
    logs = {name: tmp / f"{name.replace(' ', '-')}.log" for name in names}
    figures = {load.name: Figures() for load in loads}
    with contextlib.ExitStack() as stack:
        outs = {name: stack.enter_context(path.open("wb")) for name, path in logs.items()}
        procs = {name: start_server(name, ports[name], tmp, outs[name]) for name in names}
        try:
            for name in names:
                wait_ready(ports[name], procs[name])
            for load in loads:
                check(load, ports[load.server])
                drive(load, 1)  # warm-up
            if {"server", "contract floor"} <= procs.keys():
                check_contract_floor(ports)
            if "server" in procs:
                lines = logs["server"].read_bytes().count(b'"logger":"asgi_app.access"')
                assert lines > 1000, f"the access log is off ({lines} lines)"
                print(f"server access log on: {lines:,} json lines during the warm-up")
            print(
                f"client: {'wrk -t1' if wrk else 'bench/http_load.py'}, "
                f"{args.connections} connections, {args.seconds:g}s rounds"
            )
            for round_no in range(args.rounds):
                order = loads if round_no % 2 == 0 else loads[::-1]
                for load in order:
                    pid = procs[load.server].pid
                    cpu0, wait0 = schedstat(pid)
                    count, took = drive(load, args.seconds)
                    cpu1, wait1 = schedstat(pid)
                    row = figures[load.name]
                    row.rps.append(count / took)
                    row.cpu += cpu1 - cpu0
                    row.waited += wait1 - wait0
                    if cpu1 > cpu0:
                        row.per_cpu.append(count / (cpu1 - cpu0))
                print(
                    f"round {round_no + 1}: "
                    + ", ".join(f"{n} {f.rps[-1]:,.0f}/s" for n, f in figures.items())
                )
        finally:
            for proc in procs.values():
                proc.terminate()
            for proc in procs.values():
                proc.wait(timeout=20)
    return figures


def ratios(row: Figures, base: Figures) -> tuple[str, str]:
    """(median of the per-round req/s ratios, ratio of the median req/CPU-s) of row to base."""
    per_round = statistics.median(a / b for a, b in zip(row.rps, base.rps, strict=True))
    by_cpu = "-"
    if row.per_cpu and base.per_cpu:
        by_cpu = f"{statistics.median(row.per_cpu) / statistics.median(base.per_cpu):.2f}x"
    return f"{per_round:.2f}x", by_cpu


def report(loads: list[Load], figures: dict[str, Figures]) -> None:
    floors = {load.request: figures[load.name] for load in loads if load.server == "floor"}
    print(f"{'load':<30} {'req/s':>8} {'ratio':>7} {'req/CPU-s':>10} {'ratio':>7} cpu / waited")
    for load in loads:
        row = figures[load.name]
        floor = floors.get(load.request)
        ratio = cpu_ratio = "-"
        if floor is not None and load.server != "floor":
            ratio, cpu_ratio = ratios(row, floor)
        per_cpu = statistics.median(row.per_cpu) if row.per_cpu else 0.0
        print(
            f"{load.name:<30} {statistics.median(row.rps):>8,.0f} {ratio:>7} "
            f"{per_cpu:>10,.0f} {cpu_ratio:>7} {row.cpu:.1f} s / {row.waited:.1f} s"
        )
    server, contract = figures.get("server GET /"), figures.get("contract floor GET /")
    if server and contract:
        ratio, cpu_ratio = ratios(server, contract)
        print(f"server GET / / contract floor GET /: {ratio} by req/s, {cpu_ratio} by CPU")
    ours, peer = figures.get("asgi_app.http POST /teams"), figures.get("starlette POST /teams")
    if ours and peer:
        pairs = statistics.median(a / b for a, b in zip(ours.rps, peer.rps, strict=True))
        print(f"asgi_app.http / starlette (median of per-round ratios): {pairs:.2f}x")
    print("ratio: of the floor serving the same request; waited: runnable, no CPU free")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--only", action="append", help='a request to run, e.g. "GET /"')
    args = parser.parse_args()
    loads = [load for load in LOADS if not args.only or load.request in args.only]
    with tempfile.TemporaryDirectory() as tmp:
        figures = run(args, loads, Path(tmp))
    report(loads, figures)


if __name__ == "__main__":
    main()
