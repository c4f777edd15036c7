"""discord-interactions' `verifyKey` (npm) under Node, as the main app verifies a forward."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path

import pytest

from tests.support.tools import require_tool

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("verify_key.mjs")


async def verify_key(
    checks: list[tuple[bytes, str, str, str]],
) -> list[bool]:
    """verifyKey(body, signature, timestamp, public_key) for each check, in one Node run."""
    node = require_tool("node")
    if not (ROOT / "node_modules" / "discord-interactions").is_dir():
        pytest.fail("node_modules is missing: run `make node` (npm ci)")
    lines = [
        json.dumps(
            {
                "body_b64": base64.b64encode(body).decode(),
                "signature": signature,
                "timestamp": timestamp,
                "public_key": public_key,
            }
        )
        for body, signature, timestamp, public_key in checks
    ]
    process = await asyncio.create_subprocess_exec(
        node,
        str(SCRIPT),
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate("\n".join(lines).encode() + b"\n"), 30)
    assert process.returncode == 0, err.decode()
    results = out.decode().split()
    assert len(results) == len(checks), (out, err)
    return [result == "true" for result in results]
