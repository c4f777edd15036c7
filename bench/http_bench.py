"""Requests per second: a validated JSON POST route in asgi_app.http vs the same in Starlette.

Both apps run under the same uvicorn settings (one process each, uvloop + httptools, no access
log), are loaded by the same generator in a separate process (`wrk` when installed, else
bench/http_load.py), in alternating rounds within one run. Prints each round and the ratio.

    .venv/bin/python bench/http_bench.py [--rounds 5] [--seconds 3] [--connections 32]
"""

from __future__ import annotations

import argparse
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
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
BODY = json.dumps(
    {"name": "Blue Team", "score": 1, "primaryColor": "#0044ff", "players": ["ann", "bob"]}
).encode()
APPS = {"asgi_app.http": "http_apps:ours", "starlette": "http_apps:starlette"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(target: str, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'bench'}"}
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        target,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    return subprocess.Popen(command, env=env, cwd=ROOT)


def wait_ready(port: int, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if proc.poll() is not None:
            raise SystemExit(f"server on {port} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"server on {port} did not start")


def check(port: int) -> None:
    url = f"http://127.0.0.1:{port}/teams"
    ok = httpx.post(url, content=BODY, headers={"content-type": "application/json"})
    assert ok.status_code == 201 and ok.json()["team"]["name"] == "Blue Team", ok.text
    bad = httpx.post(url, json={"name": "", "score": -1, "primaryColor": ""})
    assert bad.status_code == 422 and len(bad.json()["errors"]) == 3, bad.text


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (Linux /proc), or None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_wrk(wrk: str, port: int, seconds: float, conns: int, script: Path) -> tuple[float, int]:
    out = subprocess.run(
        [
            wrk,
            "-t1",
            f"-c{conns}",
            f"-d{seconds:g}s",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}/teams",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise SystemExit(f"wrk saw errors:\n{out}")
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    assert rate and total, out
    return float(rate.group(1)), int(total.group(1))


def load_python(port: int, seconds: float, conns: int, body_file: Path) -> tuple[float, int]:
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "http_load.py"),
            "127.0.0.1",
            str(port),
            "/teams",
            str(seconds),
            str(conns),
            str(body_file),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result = json.loads(out)
    if result["bad"]:
        raise SystemExit(f"load generator saw {result['bad']} non-2xx answers")
    return float(result["rps"]), int(result["requests"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto")
    args = parser.parse_args()

    wrk = shutil.which("wrk") if args.client in ("auto", "wrk") else None
    if args.client == "wrk" and not wrk:
        raise SystemExit("wrk is not installed")
    with tempfile.TemporaryDirectory() as tmp:
        body_file = Path(tmp) / "body.json"
        body_file.write_bytes(BODY)
        script = Path(tmp) / "post.lua"
        script.write_text(
            'wrk.method = "POST"\n'
            'wrk.headers["Content-Type"] = "application/json"\n'
            f"wrk.body = {json.dumps(BODY.decode())}\n"
        )

        def load(port: int, seconds: float) -> tuple[float, int]:
            if wrk:
                return load_wrk(wrk, port, seconds, args.connections, script)
            return load_python(port, seconds, args.connections, body_file)

        ports = {name: free_port() for name in APPS}
        procs = {name: start_server(APPS[name], ports[name]) for name in APPS}
        try:
            for name in APPS:
                wait_ready(ports[name], procs[name])
                check(ports[name])
                load(ports[name], 1)  # warm-up
            client = "wrk -t1" if wrk else "bench/http_load.py"
            print(f"client: {client}, {args.connections} connections, {args.seconds:g}s rounds")
            rps: dict[str, list[float]] = {name: [] for name in APPS}
            per_cpu: dict[str, list[float]] = {name: [] for name in APPS}
            names = list(APPS)
            for round_no in range(args.rounds):
                order = names if round_no % 2 == 0 else names[::-1]
                for name in order:
                    before = cpu_seconds(procs[name].pid)
                    rate, count = load(ports[name], args.seconds)
                    after = cpu_seconds(procs[name].pid)
                    rps[name].append(rate)
                    if before is not None and after is not None and after > before:
                        per_cpu[name].append(count / (after - before))
                print(
                    f"round {round_no + 1}: "
                    + ", ".join(f"{n} {rps[n][-1]:,.0f} req/s" for n in names)
                    + f"  (ratio {rps[names[0]][-1] / rps[names[1]][-1]:.2f})"
                )
        finally:
            for proc in procs.values():
                proc.terminate()
            for proc in procs.values():
                proc.wait(timeout=10)
    ours, peer = (statistics.median(rps[name]) for name in APPS)
    pairs = statistics.median(a / b for a, b in zip(*rps.values(), strict=True))
    print(f"median: asgi_app.http {ours:,.0f} req/s, starlette {peer:,.0f} req/s")
    print(f"ratio asgi_app.http / starlette (median of per-round ratios): {pairs:.2f}x")
    if all(per_cpu.values()):
        ours_cpu, peer_cpu = (statistics.median(per_cpu[name]) for name in APPS)
        print(
            f"requests per server CPU-second: asgi_app.http {ours_cpu:,.0f}, "
            f"starlette {peer_cpu:,.0f}, ratio {ours_cpu / peer_cpu:.2f}x"
        )


if __name__ == "__main__":
    main()
