"""The validation library against another version of itself, in one process (so machine
load hits both alike): the bench's schemas and data, best CPU time per call over interleaved
rounds.

    mkdir /tmp/ab && git archive main asgi_app/validation | tar -x -C /tmp/ab
    .venv/bin/python bench/validation_ab.py /tmp/ab/asgi_app/validation

The directory is a copy of `asgi_app/validation` from the other version; it is imported as a
package of its own.
"""

from __future__ import annotations

import copy
import importlib.util
import sys
import time
import timeit
from pathlib import Path
from types import ModuleType
from typing import Any

from asgi_app import validation as current

BENCH = Path(__file__).with_name("validation_bench.py")


def load_base(directory: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "validation_base", directory / "__init__.py", submodule_search_locations=[str(directory)]
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["validation_base"] = module
    spec.loader.exec_module(module)
    return module


def schemas(library: Any) -> tuple[Any, Any]:
    """The bench's two schemas (the part of validation_bench.py before the pydantic models)."""
    source = BENCH.read_text(encoding="utf-8").split("class PTeam")[0]
    source = source.replace("from asgi_app import validation as v", "")
    namespace: dict[str, Any] = {"v": library, "__name__": "bench_schemas"}
    exec(compile(source, str(BENCH), "exec"), namespace)  # our own bench file
    return namespace["overlay_ours"], namespace["item_ours"]


def team(name: str, score: Any) -> dict[str, Any]:
    return {"score": score, "name": name, "primaryColor": "#f", "secondaryColor": "#0",
            "logoUrl": "https://x/l.png"}  # fmt: skip


def inputs() -> list[tuple[str, int, Any, int]]:
    overlay = {"blue": team("A", 1), "red": team("B", 2), "maxScore": 3, "extra": 1}
    bad_overlay = {"blue": team("", -1), "red": {**team("B", "x"), "logoUrl": 1}, "maxScore": 0}
    items: list[dict[str, Any]] = [
        {"id": i + 1, "name": f"item{i}", "active": True, "score": 1.5, "tags": ["a", "b"],
         "owner": {"id": i, "email": "abc@x"}}
        for i in range(1000)
    ]  # fmt: skip
    bad_items = copy.deepcopy(items)
    for index in range(0, 1000, 10):
        bad_items[index]["id"] = 0
        bad_items[index]["owner"]["email"] = "x"
    return [
        ("overlay valid", 0, overlay, 2000),
        ("overlay invalid", 0, bad_overlay, 2000),
        ("1000 objects valid", 1, items, 5),
        ("1000 objects invalid", 1, bad_items, 5),
    ]


def _call(fn: Any, data: Any) -> Any:
    return lambda: fn(data, (), [])


def main(base_dir: str, rounds: int = 15) -> None:
    sides = {"base": schemas(load_base(Path(base_dir))), "this": schemas(current)}
    best: dict[tuple[str, str], float] = {}
    for _ in range(rounds):
        for name, which, data, number in inputs():
            for side, pair in sides.items():
                fn = pair[which].validator()
                times = timeit.repeat(
                    _call(fn, data), number=number, repeat=3, timer=time.process_time
                )
                key = (name, side)
                best[key] = min(best.get(key, float("inf")), min(times) / number * 1e6)
    print(f"best CPU time per call of {rounds} interleaved rounds, microseconds")
    for name, *_ in inputs():
        base, this = best[(name, "base")], best[(name, "this")]
        print(f"{name:22s} base {base:9.1f}  this {this:9.1f}  this/base {this / base:.3f}")


if __name__ == "__main__":
    main(sys.argv[1])
