"""The Dockerfile (no Docker engine here: linted and read) and gunicorn.conf.py."""

from __future__ import annotations

import re
import runpy
import shutil
import subprocess
from pathlib import Path

from tests.support.harness.process import ROOT, VENV_BIN
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


def _names(requirements: list[str]) -> set[str]:
    return {
        re.split(r"[\[<>=~! ;]", r, maxsplit=1)[0].lower().replace("_", "-") for r in requirements
    }


def _requirements(text: str) -> list[tuple[str, list[str]]]:
    """(the requirement line, its sha256 hashes) of a lock file, continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", text)
    found = []
    for line in joined.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            found.append((line, re.findall(r"--hash=sha256:([0-9a-f]{64})\b", line)))
    return found


def test_the_lock_files_pin_and_hash_every_dependency_and_make_and_the_image_use_them() -> None:
    import tomllib

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    project = pyproject["project"]
    locks = {
        "prod": project["dependencies"] + project["optional-dependencies"]["prod"],
        "dev": project["dependencies"] + project["optional-dependencies"]["dev"],
        "build": pyproject["build-system"]["requires"],
    }
    for lock, wanted_specs in locks.items():
        text = (ROOT / "requirements" / f"{lock}.txt").read_text()
        pinned = dict(re.findall(r"^([a-z0-9._-]+)==([^\s;]+)", text, re.M | re.I))
        pinned = {name.lower().replace("_", "-"): v for name, v in pinned.items()}
        wanted = _names(wanted_specs)
        assert wanted <= set(pinned), (lock, wanted - set(pinned))
        # Nothing but exact pins, each with the hashes of its files (--require-hashes).
        requirements = _requirements(text)
        assert len(requirements) == len(pinned), lock
        for line, hashes in requirements:
            assert re.match(r"^[a-z0-9._-]+==\S+", line, re.I), line
            assert hashes, f"{lock}: no --hash for {line.split()[0]}"
    locks_in = "-r requirements/prod.txt -r requirements/build.txt"
    assert f"pip install --no-compile --require-hashes {locks_in}" in DOCKERFILE
    assert "pip install --no-compile --no-deps --no-build-isolation ." in DOCKERFILE
    makefile = (ROOT / "Makefile").read_text()
    assert "LOCK_DEV := requirements/dev.txt" in makefile
    assert "pip install --quiet --require-hashes -r $(LOCK_DEV) -r $(LOCK_BUILD)" in makefile
    assert "pip install --quiet --no-deps --no-build-isolation -e ." in makefile
    assert makefile.count("--generate-hashes") == 3  # `make lock` keeps them hashed


def test_dockerfile_builds_offline_and_serves_the_client_script() -> None:
    assert not re.search(r"^# *syntax=", DOCKERFILE, re.M)  # BuildKit would fetch an image
    assert "socket.io.min.js ./asgi_app/overlay/static/" in DOCKERFILE
    assert re.search(r"^USER 10001:10001$", DOCKERFILE, re.M)


def test_a_wheel_carries_the_socketio_client_as_package_data(tmp_path: Path) -> None:
    """What `make node` put in the package reaches a wheel (and so the image's install)."""
    import zipfile

    assert (ROOT / "asgi_app/overlay/static/socket.io.min.js").is_file(), "run `make node`"
    source = tmp_path / "src"  # what the Dockerfile copies, so the build writes nothing here
    for part in ("asgi_app", "gateway"):
        shutil.copytree(ROOT / part, source / part, ignore=shutil.ignore_patterns("__pycache__"))
    for part in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / part, source / part)
    done = subprocess.run(
        [str(VENV_BIN / "python"), "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path),
         str(source)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    (wheel,) = tmp_path.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "asgi_app/overlay/static/socket.io.min.js" in names
    assert "asgi_app/overlay/static/overlay.js" in names
