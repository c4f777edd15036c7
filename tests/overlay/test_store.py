"""FileStore on a real directory: atomic files, reload, coalesced writes; view keys."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import orjson
import pytest

from asgi_app.overlay import store as store_module
from asgi_app.overlay.state import DEFAULT_STATE, valid_name, view_key
from asgi_app.overlay.store import (
    REDIS_TIMEOUT_SECONDS,
    FileStore,
    RedisStore,
    StateNotStorable,
    build_store,
)
from gateway.redis_client import redis_client
from tests.overlay.helpers import overlay_data
from tests.support.harness.redis_server import RedisProcess
from tests.support.tools import require_tool


async def test_set_writes_a_file_and_a_new_store_loads_it(tmp_path: Path) -> None:
    first = FileStore(tmp_path / "o")
    await first.open()
    assert await first.get("a") == DEFAULT_STATE
    await first.set("a", overlay_data(blue=1))
    assert orjson.loads((tmp_path / "o" / "a.json").read_bytes()) == overlay_data(blue=1)
    assert [p.name for p in (tmp_path / "o").iterdir()] == ["a.json"]  # no temp files left
    assert oct((tmp_path / "o" / "a.json").stat().st_mode & 0o777) == "0o600"
    second = FileStore(tmp_path / "o")
    await second.open()
    assert await second.get("a") == overlay_data(blue=1)


async def test_unreadable_and_foreign_files_are_ignored(tmp_path: Path) -> None:
    tmp_path.joinpath("broken.json").write_bytes(b"{")
    tmp_path.joinpath("list.json").write_bytes(b"[1]")
    tmp_path.joinpath("bad.name.json").write_bytes(b"{}")
    tmp_path.joinpath("good.json").write_bytes(orjson.dumps(overlay_data(red=1)))
    store = FileStore(tmp_path)
    await store.open()
    assert await store.get("broken") == DEFAULT_STATE
    assert await store.get("list") == DEFAULT_STATE
    assert await store.get("good") == overlay_data(red=1)


async def test_a_failed_write_leaves_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = FileStore(tmp_path)
    await store.open()
    await store.set("a", overlay_data(blue=1))

    def failing_fsync(fd: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError):
        await store.set("a", overlay_data(blue=2))
    assert orjson.loads((tmp_path / "a.json").read_bytes()) == overlay_data(blue=1)
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


async def test_concurrent_sets_are_coalesced_and_the_newest_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes: list[bytes] = []
    real_write = store_module.write_atomically

    def counting_write(path: Path, data: bytes) -> None:
        writes.append(data)
        real_write(path, data)

    monkeypatch.setattr(store_module, "write_atomically", counting_write)
    store = FileStore(tmp_path)
    await store.open()
    await asyncio.gather(
        *(store.set("a", overlay_data(blue=i % 3, max_score=3)) for i in range(30))
    )
    last = overlay_data(blue=29 % 3, max_score=3)
    assert orjson.loads((tmp_path / "a.json").read_bytes()) == last
    assert await store.get("a") == last
    assert 1 <= len(writes) <= 2  # the first write, then one carrying the newest state


async def test_invalid_names_are_refused(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    await store.open()
    for name in ["../x", "a/b", "", "x" * 65, "é"]:
        assert not valid_name(name)
        with pytest.raises(ValueError):
            await store.set(name, overlay_data())
    assert os.listdir(tmp_path) == []


def test_build_store_picks_redis_only_with_a_client(tmp_path: Path) -> None:
    assert isinstance(build_store(tmp_path, None), FileStore)
    assert isinstance(build_store(tmp_path, redis_client("redis://127.0.0.1:1/0")), RedisStore)


def test_view_key_is_per_overlay_and_hides_the_token() -> None:
    token = "a-secret-token-that-is-long-enough-123"
    key = view_key(token, "finals")
    assert key == view_key(token, "finals")
    assert key != view_key(token, "semis")
    assert key != view_key(token + "x", "finals")
    assert len(key) == 43 and token not in key


def test_view_url_command(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from asgi_app.overlay import viewkey

    token = "a-secret-token-that-is-long-enough-123"
    monkeypatch.setenv("AUTH_TOKEN", token)
    assert viewkey.main(["finals", "https://overlay.example/"]) == 0
    expected = f"https://overlay.example/overlay/view/finals?key={view_key(token, 'finals')}"
    assert capsys.readouterr().out.strip() == expected
    assert viewkey.main(["../x"]) == 2


def _nested(levels: int) -> object:
    value: object = 1
    for _ in range(levels):
        value = [value]
    return value


async def test_a_state_that_cannot_be_serialised_changes_nothing(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "o")
    await store.open()
    assert oct((tmp_path / "o").stat().st_mode & 0o777) == "0o700"  # created private
    first = overlay_data(blue=1)
    await store.set("a", first)
    on_disk = (tmp_path / "o" / "a.json").read_bytes()
    with pytest.raises(StateNotStorable):
        await store.set("a", overlay_data(extra=_nested(300)))  # orjson stops at 255 levels
    assert await store.get("a") == first  # memory: the previous state
    assert (tmp_path / "o" / "a.json").read_bytes() == on_disk  # disk: untouched
    with pytest.raises(StateNotStorable):
        await store.set("b", overlay_data(extra=_nested(300)))  # a new overlay: none made
    assert await store.get("b") == DEFAULT_STATE
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["a.json"]
    await store.set("a", overlay_data(red=1))  # and the store goes on
    reopened = FileStore(tmp_path / "o")
    await reopened.open()
    assert await reopened.get("a") == overlay_data(red=1)


async def test_redis_store_refuses_what_it_cannot_serialise_and_ignores_garbage() -> None:
    server = await RedisProcess(require_tool("redis-server")).start()
    try:
        store = RedisStore(redis_client(server.url, timeout=REDIS_TIMEOUT_SECONDS))
        await store.open()
        first = overlay_data(blue=1)
        await store.set("a", first)
        with pytest.raises(StateNotStorable):
            await store.set("a", overlay_data(extra=_nested(300)))
        assert await store.get("a") == first
        other = redis_client(server.url)  # another client of the same server
        raw = await other.get("overlay:state:a")
        assert raw is not None and orjson.loads(raw) == first
        await other.set("overlay:state:b", b"{not json")
        assert await store.get("b") == DEFAULT_STATE
        await other.aclose()
        await store.close()
    finally:
        server.stop()
