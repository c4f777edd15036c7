"""Record Zod 4's results for the parity cases into zod_parity_expected.py (run by hand,
never by the tests):

    mkdir -p /tmp/zodparity && cd /tmp/zodparity && npm install --no-save zod@4
    .venv/bin/python -m tests.validation.record_zod_parity /tmp/zodparity

Each case's Zod schema (JavaScript source) runs `safeParse` on the case's input under Node;
the success output, or each issue's path and code, is written down as plain Python values.
"""

from __future__ import annotations

import json
import math
import pprint
import subprocess
import sys
from pathlib import Path
from typing import Any

from asgi_app import validation as v

from .zod_parity_cases import CASES

RUNNER = r"""
import * as z from "zod";
import { readFileSync } from "node:fs";
const decode = (x) => {
  if (Array.isArray(x)) return x.map(decode);
  if (x && typeof x === "object") {
    if ("$special" in x) return {undefined: undefined, Infinity: Infinity,
      "-Infinity": -Infinity, NaN: NaN}[x.$special];
    return Object.fromEntries(Object.entries(x).map(([k, item]) => [k, decode(item)]));
  }
  return x;
};
const out = {};
for (const [id, source, input] of JSON.parse(readFileSync(0, "utf8"))) {
  const schema = new Function("z", `return (${source});`)(z);
  const r = schema.safeParse(decode(input));
  out[id] = r.success ? { ok: true, value: r.data ?? null }
    : { ok: false, issues: r.error.issues.map((i) => [i.path, i.code]) };
}
console.log(JSON.stringify({ version: JSON.parse(readFileSync(
  "node_modules/zod/package.json", "utf8")).version, results: out }));
"""


def encode(value: Any) -> Any:
    if value is v.MISSING:
        return {"$special": "undefined"}
    if isinstance(value, float) and not math.isfinite(value):
        return {
            "$special": "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
        }
    if isinstance(value, list):
        return [encode(item) for item in value]
    if isinstance(value, dict):
        return {key: encode(item) for key, item in value.items()}
    return value


def main(zod_dir: str) -> None:
    script = Path(zod_dir) / "record_parity.mjs"
    script.write_text(RUNNER, encoding="utf-8")
    payload = json.dumps([[case.id, case.zod, encode(case.input)] for case in CASES])
    done = subprocess.run(
        ["node", script.name],
        input=payload,
        cwd=zod_dir,
        capture_output=True,
        text=True,
        check=True,
    )
    recorded = json.loads(done.stdout)
    results = {
        case_id: (
            {"ok": True, "value": r["value"]}
            if r["ok"]
            else {"ok": False, "issues": [(tuple(path), code) for path, code in r["issues"]]}
        )
        for case_id, r in recorded["results"].items()
    }
    target = Path(__file__).with_name("zod_parity_expected.py")
    target.write_text(
        '"""Zod ' + recorded["version"] + "'s results for zod_parity_cases.py, recorded by\n"
        'record_zod_parity.py: do not edit by hand."""\n\n'
        "from typing import Any\n\n"
        f"ZOD_VERSION = {recorded['version']!r}\n\n"
        f"EXPECTED: dict[str, dict[str, Any]] = {pprint.pformat(results, width=100)}\n",
        encoding="utf-8",
    )


if __name__ == "__main__":
    main(sys.argv[1])
