"""`make run` on a fresh copy with an empty environment: it installs the page's socket.io
client itself (npm ci), serves in development mode with the embedded simulator, a real Chromium
shows the OBS page updated by a POST, and the documented CLI fires a slash command that is
deferred, forwarded to the stand-in main app and answered."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
from pathlib import Path

import httpx
from playwright.async_api import expect

from asgi_app.overlay.state import view_key
from tests.overlay.helpers import overlay_data
from tests.support.browser import ARTIFACTS, chromium
from tests.support.harness.process import ROOT, VENV_BIN, ServerProcess, clean_env
from tests.support.harness.server import free_port
from tests.support.tools import require_tool

CLI = (str(VENV_BIN / "python"), "-m", "asgi_app.devtools")


def _fresh_copy(dest: Path) -> Path:
    """The working tree's files (tracked and new, not ignored), with the installed .venv linked
    in: a fresh clone after its first `make install`. No node_modules: `make run` installs it."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    (dest / ".venv").symlink_to(ROOT / ".venv")
    return dest


async def _obs_page_follows_a_post(base: str, output: str) -> None:
    found = re.search(r"development default AUTH_TOKEN=(\S+)", output)
    assert found, output
    token = found.group(1)
    async with chromium() as browser, httpx.AsyncClient(base_url=base, timeout=10) as http:
        page = await browser.new_page(viewport={"width": 1280, "height": 200})
        await page.goto(f"{base}/overlay/view/default?key={view_key(token, 'default')}&theme=dark")
        await page.wait_for_selector('#scoreboard[data-status="live"]', timeout=15000)
        state = overlay_data(blue=2, red=1, max_score=3)
        posted = await http.post("/overlay", json=state, headers={"Authorization": token})
        assert posted.status_code == 200 and posted.json()["clients"] == 1, posted.text
        await expect(page.locator(".team--blue .team__score")).to_have_text("2", timeout=15000)
        assert await page.locator(".team--blue .team__name").text_content() == "Blue Team"
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "make-run-overlay.png"))


async def test_make_run_serves_the_page_the_obs_page_and_a_fired_command(
    tmp_path: Path,
) -> None:
    make = require_tool("make")
    copy = _fresh_copy(tmp_path / "clone")
    port = free_port()
    env = clean_env(PORT=str(port))
    env.pop("PYTHONPATH")  # the copy's own files, as on a fresh clone
    # -o: the linked .venv is already installed; do not reinstall it from the copy.
    server = ServerProcess([make, "-o", ".venv/.installed", "run"], env=env, cwd=copy).start()
    base = f"http://127.0.0.1:{port}"
    try:
        await server.wait_http(base + "/health", timeout=240)  # npm ci first
        assert (copy / "node_modules" / ".installed").is_file()
        assert (copy / "asgi_app" / "overlay" / "static" / "socket.io.min.js").is_file()
        await _obs_page_follows_a_post(base, server.read_output())
        fired = subprocess.run(
            [*CLI, "fire", "command", "--url", base],
            cwd=copy,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert fired.returncode == 0, fired.stdout + fired.stderr
        assert "acknowledged: deferred (type 5)" in fired.stdout
        assert "forwarded: /command answered 200" in fired.stdout
        assert "response edited by the main app" in fired.stdout

        failing = subprocess.run(
            [*CLI, "fire", "component", "--mode", "fail", "--url", base],
            cwd=copy,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert "ephemeral follow-up: error shown to the user" in failing.stdout, failing.stdout
    finally:
        code = await server.terminate(signal.SIGTERM, group=True)
    assert "development default AUTH_TOKEN=" in server.output
    assert code in (0, -signal.SIGTERM, 2), server.output
