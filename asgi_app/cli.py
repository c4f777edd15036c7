"""The operator's command: `python -m asgi_app COMMAND` (in the image: `docker exec CONTAINER
python -m asgi_app COMMAND`). Settings are read as the server reads them: the environment,
then `.env` in the working directory for what it lacks (`--env-file` names another file).

- `check`: validate every setting exactly as the server does at start-up; each problem by
  variable name, never a value; exit 0 when the server would start, 3 (the server's own exit
  status for invalid settings) otherwise.
- `public-key`: the forward signing public key (64 hex characters, what `GET
  /interactions/public-key` answers and the main app verifies `X-Signature-Ed25519` with),
  from FORWARD_SIGNING_KEY or STATE_DIR's key file. It never creates the file: when neither
  exists it says so and exits 1 (the server generates the key at its first start, owned by
  the server's user; a key made by this command, run as another user, could lock it out).
- `view-url NAME [BASE]`: the OBS browser-source URL of overlay NAME (BASE defaults to
  `http://127.0.0.1:$PORT`), keyed with VIEW_KEY_SECRET's first entry, else AUTH_TOKEN's,
  as the server keys it.
- `journal`: the interaction journal (REDIS_URL's, else STATE_DIR's SQLite file), read
  only: how many interactions are pending (forwarded again at the next start), how many are
  dead (older than Discord's 15 minutes: nothing can be shown to their user any more; the
  next start drops them), and the oldest. `--json` for a machine.
- `token-check`: asks Discord (`GET {DISCORD_API_BASE}/users/@me`) whether BOT_TOKEN works;
  exit 0 when it does, 1 otherwise (refused, unset, Discord unreachable).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime
import os
import sqlite3
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import httpx
import orjson

from asgi_app import validation as v
from asgi_app.envfile import read_env_file
from asgi_app.overlay.state import valid_name, view_url
from asgi_app.settings import Settings, SettingsError, load_settings
from gateway.delivery.signatures import public_key_hex
from gateway.delivery.signing_key import FILE_NAME as KEY_FILE
from gateway.delivery.signing_key import key_from_hex
from gateway.journal.interactions_redis import DEFAULT_PREFIX
from gateway.journal.interactions_replay import REPLAY_MAX_AGE
from gateway.journal.interactions_sqlite import FILE_NAME as JOURNAL_FILE
from gateway.redis_client import redis_client
from gateway.user_agent import USER_AGENT

#: The server's exit status for invalid settings (gunicorn's "worker failed to boot").
INVALID_SETTINGS = 3
TOKEN_CHECK_TIMEOUT = 10.0
#: Redis commands give up after this long (s).
REDIS_TIMEOUT = 5.0


class CommandError(Exception):
    """A one-line answer on stderr and exit status 1."""


# -- the settings a command needs, read and validated as the server reads them -------------


def _schemas() -> dict[str, v.Schema[Any]]:
    """Each variable's schema, as declared on `Settings` (optional unless it has a default)."""
    found: dict[str, v.Schema[Any]] = {}
    for f in dataclasses.fields(Settings):
        schema = f.metadata.get("schema")
        if schema is not None:
            found[f.name.upper()] = schema if schema.may_be_absent else schema.optional()
    return found


def _raw(environ: Mapping[str, str], env_file: Path) -> dict[str, str]:
    """The environment, then the file for what it lacks; an empty value is unset."""
    file_values, _problems = read_env_file(env_file)  # `check` reports the file's problems
    raw: dict[str, str] = {}
    for name in _schemas():
        value = environ.get(name, "")
        if not value.strip():
            value = file_values.get(name, "")
        if value.strip():
            raw[name] = value
    return raw


def read_variables(
    names: Sequence[str], environ: Mapping[str, str], env_file: Path
) -> dict[str, Any]:
    """`names` validated with their own schemas (defaults applied); CommandError naming
    every problem (never a value) otherwise. The other variables are not looked at."""
    schemas = _schemas()
    raw = _raw(environ, env_file)
    shape = v.object({name: schemas[name] for name in names})
    result = shape.safe_parse({name: raw[name] for name in names if name in raw})
    if result.error is not None:
        problems = [
            f"{'.'.join(str(part) for part in issue.path)}: {issue.message}"
            for issue in result.error.issues
        ]
        raise CommandError("; ".join(problems))
    return dict(result.value or {})


# -- the commands --------------------------------------------------------------------------


def check(environ: Mapping[str, str], env_file: Path, out: TextIO) -> int:
    try:
        settings = load_settings(environ, env_file)
    except SettingsError as error:
        print(str(error), file=sys.stderr)
        return INVALID_SETTINGS
    print(f"settings OK ({settings.app_env} mode)", file=out)
    if settings.dev_defaults:
        generated = ", ".join(settings.dev_defaults)
        print(f"  development defaults, generated at each start: {generated}", file=out)
    if not settings.is_development and settings.proxy_allow is None:
        print("  warning: PROXY_ALLOW is unset: the REST proxy passes every route", file=out)
    return 0


def public_key(environ: Mapping[str, str], env_file: Path, out: TextIO) -> int:
    values = read_variables(("FORWARD_SIGNING_KEY", "STATE_DIR"), environ, env_file)
    configured = values.get("FORWARD_SIGNING_KEY")
    if configured is not None:
        print(public_key_hex(key_from_hex(configured.get())), file=out)
        return 0
    path = Path(values["STATE_DIR"]) / KEY_FILE
    try:
        text = path.read_text(encoding="ascii", errors="replace")
    except FileNotFoundError:
        raise CommandError(
            f"no forward signing key: FORWARD_SIGNING_KEY is unset and {path} does not exist "
            "(the server creates it at its first start; this command never does)"
        ) from None
    except OSError as exc:
        raise CommandError(f"{path} cannot be read ({type(exc).__name__})") from None
    try:
        key = key_from_hex(text)
    except ValueError:
        raise CommandError(f"{path} does not hold a 64-hex-character key") from None
    print(public_key_hex(key), file=out)
    return 0


def view_url_command(
    name: str, base: str | None, environ: Mapping[str, str], env_file: Path, out: TextIO
) -> int:
    if not valid_name(name):
        raise CommandError(f"invalid overlay name: {name[:64]!r}")
    values = read_variables(("VIEW_KEY_SECRET", "AUTH_TOKEN", "PORT"), environ, env_file)
    secret = values.get("VIEW_KEY_SECRET") or values.get("AUTH_TOKEN")
    if secret is None:
        raise CommandError("neither VIEW_KEY_SECRET nor AUTH_TOKEN is set: they key the view URLs")
    print(view_url(secret.get(), name, base or f"http://127.0.0.1:{values['PORT']}"), file=out)
    return 0


@dataclass
class JournalSummary:
    store: str  # "sqlite PATH" or "redis"
    pending: int = 0  # can still be forwarded again (younger than 15 minutes)
    dead: int = 0  # past Discord's 15 minutes: dropped at the next start
    oldest_id: str | None = None
    oldest_created_at: float | None = None  # unix s

    def add(
        self, interaction_id: str, created_at: float, now: float, *, gone: bool = False
    ) -> None:
        """`gone`: its entry already expired (Redis), so it is past the 15 minutes too."""
        if gone or now - created_at >= REPLAY_MAX_AGE:
            self.dead += 1
        else:
            self.pending += 1
        if self.oldest_created_at is None or created_at < self.oldest_created_at:
            self.oldest_id, self.oldest_created_at = interaction_id, created_at

    def as_dict(self, now: float) -> dict[str, Any]:
        oldest = None
        if self.oldest_id is not None and self.oldest_created_at is not None:
            oldest = {
                "interaction_id": self.oldest_id,
                "created_at": _iso(self.oldest_created_at),
                "age_seconds": round(now - self.oldest_created_at, 1),
            }
        return {"store": self.store, "pending": self.pending, "dead": self.dead, "oldest": oldest}


def _iso(unix: float) -> str:
    return datetime.datetime.fromtimestamp(unix, datetime.UTC).isoformat(timespec="seconds")


def _sqlite_summary(state_dir: Path, now: float) -> JournalSummary:
    path = state_dir / JOURNAL_FILE
    summary = JournalSummary(f"sqlite {path}")
    if not path.is_file():
        return summary  # no journal yet: nothing pending
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
        try:
            rows = db.execute("SELECT id, created_at FROM pending").fetchall()
        finally:
            db.close()
    except sqlite3.Error as exc:
        raise CommandError(f"{path} cannot be read ({exc})") from None
    for interaction_id, created_at in rows:
        summary.add(str(interaction_id), float(created_at), now)
    return summary


async def _redis_summary(url: str, now: float) -> JournalSummary:
    """Every group's pending set (`{prefix}pending:{SHARD_IDS}`), read only."""
    from redis.exceptions import RedisError

    summary = JournalSummary("redis")
    client = redis_client(url, timeout=REDIS_TIMEOUT)
    try:
        async for key in client.scan_iter(match=f"{DEFAULT_PREFIX}pending:*", count=100):
            members: list[Any] = await client.zrange(key, 0, -1, withscores=True)
            ids = [(_text(member), float(score)) for member, score in members]
            if not ids:
                continue
            entries = await client.mget([f"{DEFAULT_PREFIX}entry:{i}" for i, _ in ids])
            for (interaction_id, created_at), entry in zip(ids, entries, strict=True):
                summary.add(interaction_id, created_at, now, gone=entry is None)
    except (RedisError, OSError) as exc:
        raise CommandError(f"Redis (REDIS_URL) cannot be read ({type(exc).__name__})") from None
    finally:
        await client.aclose()
    return summary


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def journal(environ: Mapping[str, str], env_file: Path, out: TextIO, *, as_json: bool) -> int:
    values = read_variables(("REDIS_URL", "STATE_DIR"), environ, env_file)
    now = time.time()
    redis_url = values.get("REDIS_URL")
    if redis_url is not None:
        summary = asyncio.run(_redis_summary(redis_url.get(), now))
    else:
        summary = _sqlite_summary(Path(values["STATE_DIR"]), now)
    report = summary.as_dict(now)
    if as_json:
        print(orjson.dumps(report).decode(), file=out)
        return 0
    print(f"interaction journal: {summary.store}", file=out)
    print(f"  pending: {summary.pending} (forwarded again at the next start)", file=out)
    print(f"  dead:    {summary.dead} (past Discord's 15 minutes: dropped at the next start)",
          file=out)  # fmt: skip
    oldest = report["oldest"]
    if oldest is None:
        print("  oldest:  none", file=out)
    else:
        print(
            f"  oldest:  {oldest['interaction_id']}, created {oldest['created_at']}"
            f" ({oldest['age_seconds']:.0f} s ago)",
            file=out,
        )
    return 0


def token_check(environ: Mapping[str, str], env_file: Path, out: TextIO) -> int:
    values = read_variables(("BOT_TOKEN", "DISCORD_API_BASE"), environ, env_file)
    token = values.get("BOT_TOKEN")
    if token is None:
        raise CommandError("BOT_TOKEN is not set")
    base = values["DISCORD_API_BASE"]
    headers = {"Authorization": f"Bot {token.get()}", "User-Agent": USER_AGENT}
    try:
        answer = httpx.get(f"{base}/users/@me", headers=headers, timeout=TOKEN_CHECK_TIMEOUT)
    except httpx.HTTPError as exc:
        raise CommandError(f"Discord ({base}) cannot be reached ({type(exc).__name__})") from None
    if answer.status_code == 401:
        raise CommandError(
            "BOT_TOKEN does not work: Discord answered 401 Unauthorized (reset or revoked: "
            "take the current one from the developer portal)"
        )
    if answer.status_code != 200:
        raise CommandError(f"Discord answered {answer.status_code} to GET /users/@me")
    try:
        user = answer.json()
        name, user_id = str(user["username"]), str(user["id"])
    except (ValueError, KeyError, TypeError):
        raise CommandError("Discord's answer to GET /users/@me is not a user") from None
    print(f"BOT_TOKEN works: the bot is {name} (id {user_id})", file=out)
    return 0


# -- the command line ----------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m asgi_app",
        description="Operator commands of the Draft League companion server.",
    )
    parser.add_argument(
        "--env-file",
        type=Path,
        default=Path(".env"),
        help="the .env file that fills what the environment lacks (default: ./.env)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("check", help="validate the settings as the server does (exit 0 or 3)")
    sub.add_parser("public-key", help="print the forward signing public key")
    view = sub.add_parser("view-url", help="print an overlay's OBS browser-source URL")
    view.add_argument("name", help="the overlay's name, e.g. default")
    view.add_argument("base", nargs="?", help="the server's URL (default http://127.0.0.1:$PORT)")
    journal_parser = sub.add_parser("journal", help="pending and dead interactions, the oldest")
    journal_parser.add_argument("--json", action="store_true", help="one JSON object")
    sub.add_parser("token-check", help="ask Discord whether BOT_TOKEN works (exit 0 or 1)")
    return parser


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    args = _parser().parse_args(argv)
    env = os.environ if environ is None else environ
    env_file: Path = args.env_file
    out = sys.stdout
    try:
        if args.command == "check":
            return check(env, env_file, out)
        if args.command == "public-key":
            return public_key(env, env_file, out)
        if args.command == "view-url":
            return view_url_command(args.name, args.base, env, env_file, out)
        if args.command == "journal":
            return journal(env, env_file, out, as_json=args.json)
        return token_check(env, env_file, out)
    except CommandError as error:
        print(f"{args.command}: {error}", file=sys.stderr)
        return 1
