"""Settings: the environment (and a `.env` file) validated once at start-up.

`load_settings(environ, env_file)` returns a frozen `Settings` or raises `SettingsError`
listing every problem by variable name; values are never printed. An empty value counts as
unset, and the environment wins over `.env`. Secrets are wrapped in `Secret`, whose repr and
str are masked. In development, missing secrets get generated defaults, named (only named)
in `settings.dev_defaults` so the app can announce them once.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
import secrets
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TextIO
from urllib.parse import urlsplit

from asgi_app import validation as v

AppEnv = Literal["production", "development"]
Compression = Literal["none", "zlib-stream", "zstd-stream"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
LogFormat = Literal["json", "text"]

DEFAULT_INTERACTION_ERROR_MESSAGE = (
    "Sorry, something went wrong while handling that. Please try again in a moment."
)
DEV_ORIGIN_HOST = "http://127.0.0.1"
_MASK = "**********"


class Secret:
    """A value that must not be logged: repr and str are masked, `.get()` gives it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return _MASK

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    __hash__ = None  # type: ignore[assignment]

    def __bool__(self) -> bool:
        return bool(self._value)


class SettingsError(Exception):
    """Every problem with the settings, one line per variable, never a value."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(problems)
        self.problems = problems

    def __str__(self) -> str:
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        return f"invalid settings ({len(self.problems)} problems):\n{lines}"


@dataclass(frozen=True)
class Settings:
    app_env: AppEnv
    bot_token: Secret | None
    auth_token: Secret
    origin_url: str
    forward_url: str
    discord_api_base: str
    gateway_intents: int
    gateway_compression: Compression
    shard_count: int | None
    shard_ids: tuple[int, ...] | None
    audit_log_channel: str | None
    application_id: str | None
    state_dir: Path
    redis_url: Secret | None
    body_limit_bytes: int
    rate_limit_per_minute: int
    forward_timeout_seconds: float
    interaction_error_message: str
    log_level: LogLevel
    log_format: LogFormat
    trusted_proxies: tuple[str, ...]
    port: int
    dev_defaults: tuple[str, ...] = field(default=())
    forward_signing_key: Secret | None = None
    discord_public_key: str | None = None

    @property
    def is_development(self) -> bool:
        return self.app_env == "development"

    @property
    def use_simulator(self) -> bool:
        """Development without a BOT_TOKEN runs against the embedded Discord simulator."""
        return self.is_development and self.bot_token is None

    def secret_values(self) -> tuple[str, ...]:
        """The raw secret strings (for the log scrubber), including a Redis password."""
        found = (self.bot_token, self.auth_token, self.redis_url, self.forward_signing_key)
        values = [s.get() for s in found if s]
        if self.redis_url is not None:
            password = urlsplit(self.redis_url.get()).password
            if password:
                values.append(password)
        return tuple(value for value in values if value)


# -- field checks -------------------------------------------------------------------------


def _origin(text: str) -> str:
    """`scheme://host[:port]` (http or https), normalised; ValueError otherwise."""
    parts = urlsplit(text.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError("not an origin")
    if parts.path not in ("", "/") or parts.query or parts.fragment or "@" in parts.netloc:
        raise ValueError("not an origin")
    port = parts.port  # ValueError on a bad port
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme.lower()}://{host}" + (f":{port}" if port is not None else "")


def _is_origin(text: str) -> bool:
    try:
        _origin(text)
    except ValueError:
        return False
    return True


def _proxy_list(text: str) -> tuple[str, ...]:
    entries = tuple(part.strip() for part in text.split(",") if part.strip())
    for entry in entries:
        if entry != "*":
            ipaddress.ip_network(entry, strict=False)  # ValueError when not an address/CIDR
    if not entries:
        raise ValueError("empty list")
    return entries


_SNOWFLAKE = r"^[0-9]{1,20}$"
_INT_LIST = r"^\s*[0-9]+\s*(,\s*[0-9]+\s*)*$"
_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

_hex_key = v.string().regex(r"^[0-9a-fA-F]{64}$", "must be 64 hex characters").transform(str.lower)
_http_url = v.string().url(["http", "https"], "must be an http(s) URL")

ENV_SCHEMA = v.object(
    {
        "APP_ENV": v.enum(["production", "development"]).default("production"),
        "BOT_TOKEN": v.string().transform(Secret).optional(),
        "APPLICATION_ID": v.string().regex(_SNOWFLAKE, "must be a snowflake (digits)").optional(),
        "AUTH_TOKEN": v.string().min(32, "must be at least 32 characters long").optional(),
        "ORIGIN_URL": v.string()
        .refine(_is_origin, "must be an origin: http(s)://host[:port], without a path")
        .transform(_origin)
        .optional(),
        "FORWARD_URL": _http_url.transform(lambda s: s.rstrip("/")).optional(),
        "DISCORD_API_BASE": _http_url.transform(lambda s: s.rstrip("/")).default(
            "https://discord.com/api/v10"
        ),
        "GATEWAY_INTENTS": v.coerce.int().min(0).default(5),
        "GATEWAY_COMPRESSION": v.enum(["none", "zlib-stream", "zstd-stream"]).default(
            "zlib-stream"
        ),
        "SHARD_COUNT": v.coerce.int().min(1).optional(),
        "SHARD_IDS": v.string()
        .regex(_INT_LIST, "must be a comma-separated list of shard numbers")
        .transform(lambda s: tuple(int(part) for part in s.split(",")))
        .optional(),
        "AUDIT_LOG_CHANNEL": v.string()
        .regex(_SNOWFLAKE, "must be a channel id (digits)")
        .optional(),
        "STATE_DIR": v.string().default("./var"),
        "REDIS_URL": v.string()
        .url(["redis", "rediss"], "must be a redis:// or rediss:// URL")
        .transform(Secret)
        .optional(),
        "BODY_LIMIT_BYTES": v.coerce.int().min(1).default(102400),
        "RATE_LIMIT_PER_MINUTE": v.coerce.int().min(1).default(100),
        "FORWARD_TIMEOUT_SECONDS": v.coerce.number().positive().default(10),
        "INTERACTION_ERROR_MESSAGE": v.string()
        .max(2000)
        .default(DEFAULT_INTERACTION_ERROR_MESSAGE),
        "LOG_LEVEL": v.string()
        .transform(lambda s: s.strip().upper())
        .refine(lambda s: s in _LEVELS, "must be one of DEBUG, INFO, WARNING, ERROR")
        .default("INFO"),
        "LOG_FORMAT": v.enum(["json", "text"]).optional(),
        "TRUSTED_PROXIES": v.string().transform(_proxy_list).optional(),
        "FORWARDED_ALLOW_IPS": v.string().transform(_proxy_list).optional(),
        "PORT": v.coerce.int().min(1).max(65535).default(8000),
        "FORWARD_SIGNING_KEY": _hex_key.transform(Secret).optional(),
        "DISCORD_PUBLIC_KEY": _hex_key.optional(),
    }
)
KNOWN = frozenset(ENV_SCHEMA.shape)

_FRIENDLY = {
    "TRUSTED_PROXIES": "must be a comma-separated list of IP addresses or networks",
    "FORWARDED_ALLOW_IPS": "must be a comma-separated list of IP addresses or networks",
}


# -- the .env file ------------------------------------------------------------------------

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "$": "$"}


def _unquote(raw: str) -> str | None:
    """The value of one line after `=`; None when it cannot be read."""
    raw = raw.strip()
    if raw[:1] == "'":
        end = raw.find("'", 1)
        if end < 0 or raw[end + 1 :].strip()[:1] not in ("", "#"):
            return None
        return raw[1:end]
    if raw[:1] == '"':
        out: list[str] = []
        i = 1
        while i < len(raw):
            ch = raw[i]
            if ch == "\\" and i + 1 < len(raw):
                out.append(_ESCAPES.get(raw[i + 1], "\\" + raw[i + 1]))
                i += 2
                continue
            if ch == '"':
                rest = raw[i + 1 :].strip()
                return "".join(out) if rest[:1] in ("", "#") else None
            out.append(ch)
            i += 1
        return None
    comment = re.search(r"\s#", raw)
    return (raw[: comment.start()] if comment else raw).strip()


def read_env_file(path: Path) -> tuple[dict[str, str], list[str]]:
    """KEY=VALUE lines, `#` comments, optional `export ` and quotes. Returns the values and
    the problems (by line number and name, never the content)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}, []
    except (OSError, UnicodeDecodeError):
        return {}, [f"{path.name}: cannot be read"]
    values: dict[str, str] = {}
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("export "):
            stripped = stripped[len("export ") :].lstrip()
        key, sep, raw = stripped.partition("=")
        key = key.strip()
        if not sep or not _KEY.fullmatch(key):
            problems.append(f"{path.name} line {number}: expected KEY=VALUE")
            continue
        value = _unquote(raw)
        if value is None:
            problems.append(f"{path.name} line {number} ({key}): unreadable quoted value")
            continue
        values[key] = value
    return values, problems


# -- loading --------------------------------------------------------------------------------


def _problem(issue: v.Issue) -> str:
    name = str(issue.path[0]) if issue.path else "settings"
    message = _FRIENDLY.get(name, issue.message) if issue.code == "custom" else issue.message
    message = message.replace(", received string", "")
    return f"{name}: {message}"


def _merged(environ: Mapping[str, str], file_values: Mapping[str, str]) -> dict[str, str]:
    """Known names only; an empty value is unset; the environment wins over the file."""
    merged: dict[str, str] = {}
    for name in KNOWN:
        value = environ.get(name, "")
        if not value.strip():
            value = file_values.get(name, "")
        if value.strip():
            merged[name] = value
    return merged


def load_settings(
    environ: Mapping[str, str],
    env_file: Path | None = Path(".env"),
    *,
    token_factory: Callable[[], str] = lambda: secrets.token_urlsafe(32),
) -> Settings:
    file_values, problems = read_env_file(env_file) if env_file is not None else ({}, [])
    raw = _merged(environ, file_values)
    result = ENV_SCHEMA.safe_parse(raw)
    if result.error is not None:
        problems.extend(_problem(issue) for issue in result.error.issues)
    parsed: dict[str, Any] = result.value or {}

    app_env = raw.get("APP_ENV", "production")
    development = app_env == "development"
    if not development:
        for name in ("BOT_TOKEN", "AUTH_TOKEN", "ORIGIN_URL"):
            if name not in raw:
                problems.append(f"{name}: required in production")

    if "SHARD_IDS" in raw:
        shard_ids = _field("SHARD_IDS", raw)
        shard_count = _field("SHARD_COUNT", raw)
        if "SHARD_COUNT" not in raw:
            problems.append("SHARD_IDS: requires SHARD_COUNT")
        elif isinstance(shard_ids, tuple) and isinstance(shard_count, int):
            if any(shard >= shard_count for shard in shard_ids):
                problems.append("SHARD_IDS: each shard number must be less than SHARD_COUNT")
            if len(set(shard_ids)) != len(shard_ids):
                problems.append("SHARD_IDS: a shard number is listed twice")

    if problems:
        raise SettingsError(problems)

    dev_defaults: list[str] = []
    auth_token = parsed.get("AUTH_TOKEN")
    if auth_token is None:
        auth_token = token_factory()
        dev_defaults.append("AUTH_TOKEN")
    origin_url = parsed.get("ORIGIN_URL")
    if origin_url is None:
        origin_url = f"{DEV_ORIGIN_HOST}:{parsed['PORT']}"
        dev_defaults.append("ORIGIN_URL")
    proxies = parsed.get("TRUSTED_PROXIES") or parsed.get("FORWARDED_ALLOW_IPS") or ("127.0.0.1",)
    return Settings(
        app_env="development" if development else "production",
        bot_token=parsed.get("BOT_TOKEN"),
        auth_token=Secret(auth_token),
        origin_url=origin_url,
        forward_url=parsed.get("FORWARD_URL") or f"{origin_url}/api/discord/interactions",
        discord_api_base=parsed["DISCORD_API_BASE"],
        gateway_intents=parsed["GATEWAY_INTENTS"],
        gateway_compression=parsed["GATEWAY_COMPRESSION"],
        shard_count=parsed.get("SHARD_COUNT"),
        shard_ids=parsed.get("SHARD_IDS"),
        audit_log_channel=parsed.get("AUDIT_LOG_CHANNEL"),
        application_id=parsed.get("APPLICATION_ID"),
        state_dir=Path(parsed["STATE_DIR"]),
        redis_url=parsed.get("REDIS_URL"),
        body_limit_bytes=parsed["BODY_LIMIT_BYTES"],
        rate_limit_per_minute=parsed["RATE_LIMIT_PER_MINUTE"],
        forward_timeout_seconds=float(parsed["FORWARD_TIMEOUT_SECONDS"]),
        interaction_error_message=parsed["INTERACTION_ERROR_MESSAGE"],
        log_level=parsed["LOG_LEVEL"],
        log_format=parsed.get("LOG_FORMAT") or ("text" if development else "json"),
        trusted_proxies=tuple(proxies),
        port=parsed["PORT"],
        dev_defaults=tuple(dev_defaults),
        forward_signing_key=parsed.get("FORWARD_SIGNING_KEY"),
        discord_public_key=parsed.get("DISCORD_PUBLIC_KEY"),
    )


def _field(name: str, raw: Mapping[str, str]) -> object:
    """One variable parsed alone (None when absent or invalid), for cross-checks."""
    if name not in raw:
        return None
    result = ENV_SCHEMA.shape[name].safe_parse(raw[name])
    return result.value if result.ok else None


def load_settings_or_exit(
    environ: Mapping[str, str],
    env_file: Path | None = Path(".env"),
    *,
    stream: TextIO | None = None,
) -> Settings:
    """`load_settings`, or print the problem list to stderr and exit with status 2."""
    try:
        return load_settings(environ, env_file)
    except SettingsError as error:
        print(str(error), file=stream if stream is not None else sys.stderr)
        raise SystemExit(2) from None
