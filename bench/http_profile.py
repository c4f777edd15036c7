"""Where the server's time goes on one route: py-spy samples it while wrk loads it.

Starts the real server as bench/http_bench.py does (access log on, json, INFO), drives the
request with `wrk -t1 -c32` for SECONDS, records with `py-spy record --format raw` (root, or
ptrace allowed) and prints the functions with the most samples: own (the sample's top frame)
and total (anywhere on the stack), as a share of all samples of the process.

    .venv/bin/python bench/http_profile.py [--request "GET /"] [--seconds 10] [--top 25]
"""

from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere

from bench.http_bench import LOADS, free_port, load_wrk, start_server, wait_ready


def summarize(raw: str, top: int) -> None:
    own: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    samples = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        samples += n
        frames = [_short(f) for f in stack.split(";")]
        own[frames[-1]] += n
        for frame in set(frames):
            total[frame] += n
    print(f"{samples} samples")
    print(f"{'own':>6}  {'total':>6}  function (file:line of the sample)")
    for frame, n in own.most_common(top):
        print(f"{n / samples:6.1%}  {total[frame] / samples:6.1%}  {frame}")
    print("-- by total --")
    for frame, n in total.most_common(top):
        print(f"{own[frame] / samples:6.1%}  {n / samples:6.1%}  {frame}")


def _short(frame: str) -> str:
    """`func (path/to/file.py:12)` -> `func (file.py)`: lines would split one function."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    parts = Path(path).parts
    return f"{name} ({'/'.join(parts[-2:])})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--request", default="GET /")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    wrk = shutil.which("wrk")
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not wrk or not Path(spy).exists():
        raise SystemExit("needs wrk (apt-get install wrk) and py-spy (pip install py-spy)")
    load = next(x for x in LOADS if x.server == "server" and x.request == args.request)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        port = free_port()
        with (tmp / "server.log").open("wb") as log:
            proc = start_server("server", port, tmp, log)
            try:
                wait_ready(port, proc)
                load_wrk(wrk, load, port, 1, 32, tmp)  # warm-up
                out = tmp / "profile.txt"
                record = [spy, "record", "--format", "raw", "--rate", "500", "--nonblocking"]
                record += ["--duration", str(int(args.seconds)), "-o", str(out)]
                record += ["--pid", str(proc.pid)]
                driver = threading.Thread(
                    target=load_wrk, args=(wrk, load, port, args.seconds + 1, 32, tmp)
                )
                driver.start()
                subprocess.run(record, check=True, capture_output=True)
                driver.join()
            finally:
                proc.terminate()
                proc.wait(timeout=20)
        print(f"py-spy over {args.seconds:g} s of wrk -t1 -c32 on {load.name}")
        summarize(out.read_text(), args.top)


if __name__ == "__main__":
    main()
