"""`python -m asgi_app ...`, the operator's command, run as a subprocess (a clean environment,
its own working directory): check, public-key, view-url, journal, token-check."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from asgi_app.overlay.state import view_key
from asgi_app.settings import SettingsError, load_settings
from gateway.delivery.signatures import public_key_hex
from gateway.delivery.signing_key import FILE_NAME, load_signing_key
from gateway.journal.interactions import JournalEntry
from gateway.journal.interactions_redis import RedisJournal
from gateway.journal.interactions_sqlite import SqliteJournal
from gateway.simulator import DiscordSimulator
from tests.support.harness.process import VENV_BIN, clean_env
from tests.support.harness.redis_server import redis_server
from tests.support.tools import require_tool

AUTH = "cli-test-auth-token-0123456789abcdefghij"
SEED = "7f" * 32
PRODUCTION = {"BOT_TOKEN": "a-bot-token", "AUTH_TOKEN": AUTH, "ORIGIN_URL": "https://app.example"}


async def cli(cwd: Path, *args: str, **env: str) -> tuple[int, str, str]:
    """`python -m asgi_app ARGS` in `cwd` with only `env` set: (status, stdout, stderr)."""
    proc = await asyncio.create_subprocess_exec(
        str(VENV_BIN / "python"), "-m", "asgi_app", *args,
        cwd=cwd, env=clean_env(**env),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


# -- check -----------------------------------------------------------------------------------


async def test_check_names_every_problem_as_the_server_does_and_exits_3(tmp_path: Path) -> None:
    env = {"AUTH_TOKEN": "short-SECRETVALUE", "GATEWAY_INTENTS": "many", "PORT": "0"}
    code, out, err = await cli(tmp_path, "check", **env)
    assert code == 3, (out, err)
    with pytest.raises(SettingsError) as server:
        load_settings(env, tmp_path / ".env")
    assert err.strip() == str(server.value)  # the server's own list, word for word
    for name in ("BOT_TOKEN", "AUTH_TOKEN", "ORIGIN_URL", "GATEWAY_INTENTS", "PORT"):
        assert f"- {name}: " in err, err
    assert "SECRETVALUE" not in out + err


async def test_check_passes_valid_settings_and_reads_the_env_file(tmp_path: Path) -> None:
    code, out, err = await cli(tmp_path, "check", **PRODUCTION)
    assert (code, err) == (0, ""), err
    assert "settings OK (production mode)" in out
    assert "PROXY_ALLOW is unset" in out

    (tmp_path / ".env").write_text("AUTH_TOKEN=too-short\n")
    code, _out, err = await cli(tmp_path, "check", BOT_TOKEN="x", ORIGIN_URL="https://a.example")
    assert code == 3 and "AUTH_TOKEN: " in err, err
    other = tmp_path / "prod.env"
    other.write_text(f"AUTH_TOKEN={AUTH}\n")
    code, out, _err = await cli(
        tmp_path, "--env-file", str(other), "check", BOT_TOKEN="x", ORIGIN_URL="https://a.example"
    )
    assert code == 0, out


async def test_check_in_development_names_the_generated_defaults(tmp_path: Path) -> None:
    code, out, _err = await cli(tmp_path, "check", APP_ENV="development")
    assert code == 0
    assert "development defaults, generated at each start: AUTH_TOKEN, ORIGIN_URL" in out


# -- public-key ------------------------------------------------------------------------------


async def test_public_key_of_forward_signing_key(tmp_path: Path) -> None:
    code, out, err = await cli(tmp_path, "public-key", FORWARD_SIGNING_KEY=SEED.upper())
    assert code == 0, err
    assert out.strip() == public_key_hex(load_signing_key(SEED, tmp_path))
    code, _out, err = await cli(tmp_path, "public-key", FORWARD_SIGNING_KEY="xyz-SECRETVALUE")
    assert code == 1 and "FORWARD_SIGNING_KEY: must be 64 hexadecimal characters" in err
    assert "SECRETVALUE" not in err


async def test_public_key_of_state_dir_file_and_none_created(tmp_path: Path) -> None:
    state = tmp_path / "state"
    code, out, err = await cli(tmp_path, "public-key", STATE_DIR=str(state))
    assert code == 1 and out == ""
    assert "no forward signing key" in err and "never does" in err
    assert not state.exists()  # not created by the command

    server_key = load_signing_key(None, state)  # what the server does at its first start
    code, out, err = await cli(tmp_path, "public-key", STATE_DIR=str(state))
    assert code == 0, err
    assert out.strip() == public_key_hex(server_key)

    (state / FILE_NAME).write_text("SECRETVALUE not a key\n")
    code, _out, err = await cli(tmp_path, "public-key", STATE_DIR=str(state))
    assert code == 1 and "does not hold a 64-hex-character key" in err
    assert "SECRETVALUE" not in err


# -- view-url --------------------------------------------------------------------------------


async def test_view_url_keyed_like_the_server(tmp_path: Path) -> None:
    new, old = "view-secret-new-0123456789abcdefghijkl", "view-secret-old-0123456789abcdefghijkl"
    env = {**PRODUCTION, "VIEW_KEY_SECRET": f"{new},{old}", "PORT": "9123"}
    code, out, err = await cli(tmp_path, "view-url", "finals", **env)
    assert code == 0, err
    server = load_settings(env, None)
    expected = f"http://127.0.0.1:9123/overlay/view/finals?key={view_key(new, 'finals')}"
    assert server.view_secrets[0] == new and out.strip() == expected

    code, out, _err = await cli(
        tmp_path, "view-url", "finals", "https://c.example/", AUTH_TOKEN=f"{AUTH},other" + "x" * 32
    )
    assert code == 0
    assert out.strip() == f"https://c.example/overlay/view/finals?key={view_key(AUTH, 'finals')}"

    code, _out, err = await cli(tmp_path, "view-url", "../etc", AUTH_TOKEN=AUTH)
    assert code == 1 and "invalid overlay name" in err
    code, _out, err = await cli(tmp_path, "view-url", "finals")
    assert code == 1 and "neither VIEW_KEY_SECRET nor AUTH_TOKEN" in err


# -- journal ---------------------------------------------------------------------------------


def _entry(interaction_id: str, age: float) -> JournalEntry:
    raw = json.dumps({"id": interaction_id, "type": 2}).encode()
    return JournalEntry(interaction_id, time.time() - age, raw, "deferred", 5)


async def test_journal_in_state_dir(tmp_path: Path) -> None:
    state = tmp_path / "state"
    code, out, err = await cli(tmp_path, "journal", "--json", STATE_DIR=str(state))
    assert code == 0, err
    assert json.loads(out) == {
        "store": f"sqlite {state / 'interactions.sqlite3'}",
        "pending": 0,
        "dead": 0,
        "oldest": None,
    }
    assert not state.exists()  # read only: nothing created

    journal = await SqliteJournal.open(state)
    try:
        for interaction_id, age in (("11", 20 * 60), ("12", 30), ("13", 5)):
            await journal.record(_entry(interaction_id, age))
        await journal.finish("13")
        await journal.flush()
        code, out, err = await cli(tmp_path, "journal", "--json", STATE_DIR=str(state))
        assert code == 0, err
        report = json.loads(out)
        assert (report["pending"], report["dead"]) == (1, 1), report
        assert report["oldest"]["interaction_id"] == "11"
        assert 1195 < report["oldest"]["age_seconds"] < 1230, report
        code, out, _err = await cli(tmp_path, "journal", STATE_DIR=str(state))
        assert code == 0
        assert "pending: 1" in out and "dead:    1" in out and "oldest:  11, created" in out
    finally:
        await journal.aclose()


async def test_journal_in_redis_counts_every_group(tmp_path: Path) -> None:
    require_tool("redis-server")
    async with redis_server() as url:
        first = await RedisJournal.open(url, group="0")
        second = await RedisJournal.open(url, group="1")
        try:
            await first.record(_entry("21", 60))
            await first.record(_entry("22", 16 * 60))  # kept for 1 s (Redis's least)
            await second.record(_entry("23", 120))
            await asyncio.sleep(1.2)  # Redis has expired 22's entry: its id is still listed
            code, out, err = await cli(tmp_path, "journal", "--json", REDIS_URL=url)
            assert code == 0, err
            report = json.loads(out)
            assert report["store"] == "redis"
            assert (report["pending"], report["dead"]) == (2, 1), report
            assert report["oldest"]["interaction_id"] == "22"
        finally:
            await first.aclose()
            await second.aclose()
        code, _out, err = await cli(tmp_path, "journal", REDIS_URL="redis://127.0.0.1:1/0")
        assert code == 1 and err.startswith("journal: Redis (REDIS_URL) cannot be read"), err
        assert len(err.strip().splitlines()) == 1


# -- token-check -----------------------------------------------------------------------------


async def test_token_check_asks_discord(tmp_path: Path) -> None:
    async with DiscordSimulator() as sim:
        base = sim.api_base
        code, out, err = await cli(
            tmp_path, "token-check", BOT_TOKEN=sim.token, DISCORD_API_BASE=base
        )
        assert code == 0, err
        assert out.strip() == "BOT_TOKEN works: the bot is Simulated Bot (id 1000)"
        await sim.revoke_token(close_gateway=False)
        code, out, err = await cli(
            tmp_path, "token-check", BOT_TOKEN=sim.token, DISCORD_API_BASE=base
        )
        assert code == 1 and out == ""
        assert "BOT_TOKEN does not work: Discord answered 401" in err, err
        assert sim.token not in out + err
    code, _out, err = await cli(tmp_path, "token-check", DISCORD_API_BASE=base)
    assert code == 1 and "BOT_TOKEN is not set" in err
    code, _out, err = await cli(
        tmp_path, "token-check", BOT_TOKEN="x", DISCORD_API_BASE="http://127.0.0.1:1"
    )
    assert code == 1 and "cannot be reached (ConnectError)" in err
    assert len(err.strip().splitlines()) == 1
