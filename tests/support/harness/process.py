"""Server subprocesses for tests: start, wait until they answer, stop with a signal."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support.harness import logcapture

ROOT = Path(__file__).resolve().parents[3]
VENV_BIN = ROOT / ".venv" / "bin"


def clean_env(**extra: str) -> dict[str, str]:
    """An environment with nothing of ours in it (no settings leak in from the test run)."""
    env = {
        "PATH": f"{VENV_BIN}:/usr/local/bin:/usr/bin:/bin",
        "HOME": os.environ.get("HOME", "/tmp"),
        "PYTHONPATH": str(ROOT),
        "LANG": "C.UTF-8",
    }
    env.update(extra)
    return env


@contextmanager
def running(
    args: list[str], env: dict[str, str] | None = None, cwd: Path = ROOT
) -> Iterator[subprocess.Popen[bytes]]:
    """A helper process (its output discarded) for the `with` block; SIGTERM, then SIGKILL
    after 15 s."""
    process = subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.DEVNULL)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class ServerProcess:
    def __init__(self, args: list[str], *, env: dict[str, str], cwd: Path) -> None:
        self.args = args
        self.env = env
        self.cwd = cwd
        self.proc: subprocess.Popen[bytes] | None = None
        self.output = ""
        self._chunks: list[bytes] = []
        self._reader: threading.Thread | None = None

    def start(self) -> ServerProcess:
        self.proc = subprocess.Popen(
            self.args,
            env=self.env,
            cwd=self.cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        # Drain the pipe all along: a server that logs a lot would otherwise block on a full
        # pipe and never get to shut down.
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()
        return self

    def _drain(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        stream = self.proc.stdout
        assert isinstance(stream, io.BufferedReader)
        for chunk in iter(lambda: stream.read1(65536), b""):
            self._chunks.append(chunk)

    async def wait_http(self, url: str, *, status: int = 200, timeout: float = 60) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with httpx.AsyncClient(timeout=2) as client:
            while loop.time() < deadline:
                assert self.proc is not None
                if self.proc.poll() is not None:
                    raise AssertionError(f"server exited early:\n{self.read_output()}")
                try:
                    if (await client.get(url)).status_code == status:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
        raise AssertionError(f"{url} did not answer {status} in {timeout} s:\n{self.stop()}")

    def read_output(self) -> str:
        """Everything the server wrote so far (all of it once it has exited)."""
        assert self.proc is not None
        if self.proc.poll() is not None and self._reader is not None:
            self._reader.join(timeout=10)
        self.output = b"".join(self._chunks).decode(errors="replace")
        return self.output

    async def terminate(
        self, sig: int = signal.SIGTERM, *, group: bool = False, timeout: float = 45
    ) -> int:
        """Signal the process (or its whole group, for `make`), wait, keep its output."""
        assert self.proc is not None
        if group:
            os.killpg(self.proc.pid, sig)
        else:
            self.proc.send_signal(sig)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.proc.poll() is None and loop.time() < deadline:
            await asyncio.sleep(0.1)
        if self.proc.poll() is None:
            self.stop()
            raise AssertionError(f"server did not exit {timeout} s after signal {sig}")
        self.read_output()
        logcapture.record_output(self.output)
        return self.proc.returncode

    def stop(self) -> str:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        if self.proc is not None:
            self.read_output()
            logcapture.record_output(self.output)
        return self.output
