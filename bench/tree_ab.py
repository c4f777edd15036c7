"""One benchmark run against two source trees, alternating A/B rounds in one run (so the
machine's noise falls on both alike): e.g. the acknowledgement path before and after a change.

Each round runs `BENCH` (a path inside each tree, default bench/relay_ack_bench.py) with this
interpreter from the tree's root, so the tree's own code is imported (the bench puts its tree
first on sys.path; its child processes start in their tree). Every "NAME : p50 X ms  p99 Y ms"
line it prints is collected per tree; the report gives the medians and B/A.

The A tree is a copy of the code to compare with, made without touching git's state:

    git archive HEAD | tar -x -C /tmp/before          # or a copy of a working tree
    .venv/bin/python bench/tree_ab.py /tmp/before . --rounds 8 -- --count 500 --rate 100
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
from pathlib import Path

LINE = re.compile(r"^(?P<name>[^:\n]+?)\s*:\s*p50\s+(?P<p50>[\d.]+) ms\s+p99\s+(?P<p99>[\d.]+) ms")


def run_once(tree: Path, bench: str, args: list[str]) -> dict[str, tuple[float, float]]:
    """{line name: (p50 ms, p99 ms)} of one run of the bench in `tree`."""
    done = subprocess.run(
        [sys.executable, str(tree / bench), *args],
        cwd=tree,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{tree}: exit {done.returncode}\n{done.stdout}\n{done.stderr}")
    found: dict[str, tuple[float, float]] = {}
    for line in done.stdout.splitlines():
        match = LINE.match(line.strip())
        if match:
            found[match["name"].strip()] = (float(match["p50"]), float(match["p99"]))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("tree_a", type=Path, help="the tree to compare with (before)")
    parser.add_argument("tree_b", type=Path, help="the tree under test (after)")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--bench", default="bench/relay_ack_bench.py")
    argv = sys.argv[1:]
    cut = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:cut])
    bench_args = argv[cut + 1 :]  # after --: the bench's own arguments
    trees = {"A": args.tree_a.resolve(), "B": args.tree_b.resolve()}
    runs: dict[str, list[dict[str, tuple[float, float]]]] = {"A": [], "B": []}
    for round_ in range(args.rounds):
        order = ("A", "B") if round_ % 2 == 0 else ("B", "A")  # neither always goes first
        for key in order:
            result = run_once(trees[key], args.bench, bench_args)
            runs[key].append(result)
            shown = ", ".join(f"{name} p50 {p50:.2f}" for name, (p50, _) in result.items())
            print(f"round {round_ + 1} {key}: {shown}", flush=True)
    print(f"A = {trees['A']}\nB = {trees['B']}\n{args.rounds} rounds each, medians:")
    for name in runs["A"][0]:
        a50 = statistics.median(run[name][0] for run in runs["A"])
        b50 = statistics.median(run[name][0] for run in runs["B"])
        a99 = statistics.median(run[name][1] for run in runs["A"])
        b99 = statistics.median(run[name][1] for run in runs["B"])
        print(
            f"{name:<22} p50 A {a50:7.2f} B {b50:7.2f} ms  B/A {b50 / a50:.3f}x"
            f"   p99 A {a99:7.2f} B {b99:7.2f} ms  B/A {b99 / a99:.3f}x"
        )


if __name__ == "__main__":
    main()
