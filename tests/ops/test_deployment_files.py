"""The Dockerfile (no Docker engine here: linted and read) and gunicorn.conf.py."""

from __future__ import annotations

import re
import runpy
import subprocess
from pathlib import Path

from bench.harness.process import ROOT, VENV_BIN
from tests.support.tools import require_tool

DOCKERFILE = (ROOT / "Dockerfile").read_text()


def test_hadolint_passes() -> None:
    hadolint = str(VENV_BIN / "hadolint") if (VENV_BIN / "hadolint").exists() else None
    hadolint = hadolint or require_tool("hadolint")
    done = subprocess.run(
        [hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_dockerfile_is_multi_stage_non_root_with_healthcheck_and_exec_cmd() -> None:
    assert len(re.findall(r"^FROM ", DOCKERFILE, re.M)) >= 2
    assert re.search(r"^FROM python:3\.\d+-slim", DOCKERFILE, re.M)
    user = re.findall(r"^USER (\S+)", DOCKERFILE, re.M)
    assert user and not user[-1].startswith(("root", "0"))
    assert re.search(r"^HEALTHCHECK .*\n?.*/livez", DOCKERFILE, re.M)
    assert re.search(r'^VOLUME \["/data"\]', DOCKERFILE, re.M)
    assert "STATE_DIR=/data" in DOCKERFILE
    assert re.search(
        r'^CMD \["gunicorn", "-c", "gunicorn.conf.py", "asgi_app:app"\]', DOCKERFILE, re.M
    )
    for secret in ("BOT_TOKEN", "AUTH_TOKEN"):
        assert not re.search(rf"^(ENV|ARG) .*{secret}", DOCKERFILE, re.M)
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".env" in ignored and ".git" in ignored


def test_gunicorn_config_runs_one_lifespan_worker() -> None:
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert config["workers"] == 1
    assert config["worker_class"] == "asgi_app.worker.LifespanWorker"
    assert config["graceful_timeout"] >= 20
    from asgi_app.worker import LifespanWorker

    assert LifespanWorker.CONFIG_KWARGS["lifespan"] == "on"


def test_readme_documents_the_two_commands_first() -> None:
    readme = (ROOT / "README.md").read_text()
    first_commands = readme.index("make run")
    assert first_commands < readme.index("## Settings")
    assert "make test" in readme[: readme.index("## Settings")]
    ci = Path(ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, re.M)
    assert re.search(r"^export REQUIRE_ALL=1$", ci, re.M)
