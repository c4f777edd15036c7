"""Settings: the environment (and a `.env` file) validated once at start-up.

One declaration per setting: each field of `ServerSettings` / `Settings` carries the schema of
its variable (the upper-cased field name), so the schema (`ENV_SCHEMA`) and the typed
`Settings` are derived from the same lines. Cross-field rules (production requirements,
shard numbers) live in the schema too. `load_settings(environ, env_file)` returns a frozen
`Settings` or raises `SettingsError` listing every problem by variable name; values are never
printed. An empty value counts as unset, and the environment wins over `.env`. Secrets are
wrapped in `Secret`, whose repr and str are masked. In development, missing secrets get
generated defaults, named (only named) in `settings.dev_defaults`.
"""

from __future__ import annotations

import dataclasses
import secrets
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TextIO, TypeVar
from urllib.parse import urlsplit

from asgi_app import validation as v
from asgi_app.envfile import read_env_file
from asgi_app.setting_types import (
    InteractionPolicy,
    ResponseMode,
    Secret,
    hex_key,
    interaction_policy,
    is_origin,
    is_proxy_list,
    normalise_origin,
    proxy_list,
)

__all__ = [
    "DEFAULT_INTERACTION_ERROR_MESSAGE",
    "DEFAULT_INTERACTION_LATE_MESSAGE",
    "ENV_SCHEMA",
    "InteractionPolicy",
    "Secret",
    "ServerSettings",
    "Settings",
    "SettingsError",
    "load_server_settings_or_exit",
    "load_settings",
    "load_settings_or_exit",
    "read_env_file",
]

AppEnv = Literal["production", "development"]
Compression = Literal["none", "zlib-stream", "zstd-stream"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
LogFormat = Literal["json", "text"]

DEFAULT_INTERACTION_ERROR_MESSAGE = (
    "Sorry, something went wrong while handling that. Please try again in a moment."
)
DEFAULT_INTERACTION_LATE_MESSAGE = "That took too long to answer. Please try again."
DEV_ORIGIN_HOST = "http://127.0.0.1"

_SNOWFLAKE = r"^[0-9]{1,20}$"
_INT_LIST = r"^\s*[0-9]+\s*(,\s*[0-9]+\s*)*$"
_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_PROXIES_MESSAGE = "must be a comma-separated list of IP addresses or networks"


def setting(schema: v.Schema[Any], *, production: bool = False) -> Any:
    """A settings field whose variable (the field name, upper-cased) `schema` validates.
    `production=True`: required in production, optional (`schema.optional()`) otherwise."""
    return field(metadata={"schema": schema, "production": production})


def _http_url() -> v.Schema[str]:
    return v.string().url(["http", "https"], "must be an http(s) URL").transform(_no_slash)


def _no_slash(text: str) -> str:
    return text.rstrip("/")


# -- the declarations: one line per setting -------------------------------------------------


@dataclass(frozen=True)
class ServerSettings:
    """What the process runner reads (gunicorn.conf.py, the worker): no secrets needed."""

    port: int = setting(v.coerce.int().min(1).max(65535).default(8000))
    graceful_timeout: int = setting(v.coerce.int().min(1).default(30))
    request_head_timeout_seconds: float = setting(v.coerce.number().positive().default(10.0))
    request_body_timeout_seconds: float = setting(v.coerce.number().positive().default(30.0))
    forwarded_allow_ips: tuple[str, ...] = setting(
        v.string()
        .refine(is_proxy_list, _PROXIES_MESSAGE)
        .transform(proxy_list)
        .default(("127.0.0.1",))
    )
    log_level: LogLevel = setting(
        v.string()
        .transform(lambda s: s.strip().upper())
        .refine(lambda s: s in _LEVELS, "must be one of DEBUG, INFO, WARNING, ERROR")
        .default("INFO")
    )


@dataclass(frozen=True)
class Settings(ServerSettings):
    app_env: AppEnv = setting(v.enum(["production", "development"]).default("production"))
    bot_token: Secret | None = setting(v.string().transform(Secret), production=True)
    application_id: str | None = setting(
        v.string().regex(_SNOWFLAKE, "must be a snowflake (digits)").optional()
    )
    #: Generated in development when unset.
    auth_token: Secret = setting(
        v.string().min(32, "must be at least 32 characters long").transform(Secret),
        production=True,
    )
    #: `http://127.0.0.1:{PORT}` in development when unset.
    origin_url: str = setting(
        v.string()
        .refine(is_origin, "must be an origin: http(s)://host[:port], without a path")
        .transform(normalise_origin),
        production=True,
    )
    #: `{ORIGIN_URL}/api/discord/interactions` when unset.
    forward_url: str = setting(_http_url().optional())
    discord_api_base: str = setting(_http_url().default("https://discord.com/api/v10"))
    gateway_intents: int = setting(v.coerce.int().min(0).default(5))
    gateway_compression: Compression = setting(
        v.enum(["none", "zlib-stream", "zstd-stream"]).default("zlib-stream")
    )
    shard_count: int | None = setting(v.coerce.int().min(1).optional())
    shard_ids: tuple[int, ...] | None = setting(
        v.string()
        .regex(_INT_LIST, "must be a comma-separated list of shard numbers")
        .transform(lambda s: tuple(int(part) for part in s.split(",")))
        .optional()
    )
    audit_log_channel: str | None = setting(
        v.string().regex(_SNOWFLAKE, "must be a channel id (digits)").optional()
    )
    state_dir: Path = setting(v.string().transform(Path).default(Path("./var")))
    redis_url: Secret | None = setting(
        v.string()
        .url(["redis", "rediss"], "must be a redis:// or rediss:// URL")
        .transform(Secret)
        .optional()
    )
    body_limit_bytes: int = setting(v.coerce.int().min(1).default(102400))
    rate_limit_per_minute: int = setting(v.coerce.int().min(1).default(100))
    forward_timeout_seconds: float = setting(v.coerce.number().positive().default(10.0))
    interaction_error_message: str = setting(
        v.string().max(2000).default(DEFAULT_INTERACTION_ERROR_MESSAGE)
    )
    #: `text` in development, `json` in production when unset.
    log_format: LogFormat = setting(v.enum(["json", "text"]).optional())
    # -- the interaction path (CONTRACT.md, "New settings") --
    interaction_response: ResponseMode = setting(
        v.enum(["defer", "defer-ephemeral", "respond"]).default("defer")
    )
    response_window_ms: int = setting(v.coerce.int().min(100).max(2500).default(1500))
    interaction_policy: InteractionPolicy = setting(
        interaction_policy.default_factory(InteractionPolicy)
    )
    interaction_late_message: str = setting(
        v.string().max(2000).default(DEFAULT_INTERACTION_LATE_MESSAGE)
    )
    forward_signing_key: Secret | None = setting(hex_key().transform(Secret).optional())
    discord_public_key: str | None = setting(hex_key().optional())
    proxy_body_limit_bytes: int = setting(v.coerce.int().min(1).default(26_214_400))
    proxy_max_wait_seconds: float = setting(v.coerce.number().min(0).default(10.0))
    forward_max_in_flight: int = setting(v.coerce.int().min(1).default(1000))
    # -- not variables --
    dev_defaults: tuple[str, ...] = field(default=())

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


# -- the schema, derived from the declarations -----------------------------------------------


def _variables(cls: type, *, production: bool = False) -> dict[str, v.Schema[Any]]:
    shape: dict[str, v.Schema[Any]] = {}
    for f in dataclasses.fields(cls):
        if "schema" in f.metadata:
            schema = f.metadata["schema"]
            keep = (production and f.metadata["production"]) or schema.accepts_missing
            shape[f.name.upper()] = schema if keep else schema.optional()
    return shape


def _shard_rules(values: Mapping[str, Any], report: v.Reporter) -> None:
    shard_ids, shard_count = values.get("SHARD_IDS"), values.get("SHARD_COUNT")
    if shard_ids is None:
        return
    if shard_count is None:
        report.add("requires SHARD_COUNT", path=("SHARD_IDS",))
        return
    if any(shard >= shard_count for shard in shard_ids):
        report.add("each shard number must be less than SHARD_COUNT", path=("SHARD_IDS",))
    if len(set(shard_ids)) != len(shard_ids):
        report.add("a shard number is listed twice", path=("SHARD_IDS",))


#: Development: every variable optional; cross-field rules once the fields are readable.
ENV_SCHEMA = v.object(_variables(Settings)).super_refine(_shard_rules)
#: Production: the same, with the secrets and the origin required.
PRODUCTION_SCHEMA = v.object(_variables(Settings, production=True)).super_refine(_shard_rules)
SERVER_SCHEMA = v.object(_variables(ServerSettings))
KNOWN = frozenset(_variables(Settings))


class SettingsError(Exception):
    """Every problem with the settings, one line per variable, never a value."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(problems)
        self.problems = problems

    def __str__(self) -> str:
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        return f"invalid settings ({len(self.problems)} problems):\n{lines}"


# -- loading --------------------------------------------------------------------------------


def _problem(issue: v.Issue) -> str:
    name = ".".join(str(part) for part in issue.path) if issue.path else "settings"
    message = issue.message.replace(", received string", "")
    if message == "required" and len(issue.path) == 1:
        message = "required in production"
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


def _parse(
    schema: v.Schema[Any], environ: Mapping[str, str], env_file: Path | None
) -> dict[str, Any]:
    file_values, problems = read_env_file(env_file) if env_file is not None else ({}, [])
    raw = _merged(environ, file_values)
    if schema is ENV_SCHEMA and raw.get("APP_ENV") != "development":
        schema = PRODUCTION_SCHEMA
    result = schema.safe_parse(raw)
    if result.error is not None:
        problems.extend(_problem(issue) for issue in result.error.issues)
    if problems:
        raise SettingsError(problems)
    return dict(result.value or {})


C = TypeVar("C")


def _build(cls: type[C], values: Mapping[str, Any], **derived: Any) -> C:
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    given = {name: values.get(name.upper()) for name in names if name.upper() in KNOWN}
    return cls(**(given | derived))


def load_settings(
    environ: Mapping[str, str],
    env_file: Path | None = Path(".env"),
    *,
    token_factory: Callable[[], str] = lambda: secrets.token_urlsafe(32),
) -> Settings:
    values = _parse(ENV_SCHEMA, environ, env_file)
    development = values["APP_ENV"] == "development"
    dev_defaults: list[str] = []
    if values.get("AUTH_TOKEN") is None:
        values["AUTH_TOKEN"] = Secret(token_factory())
        dev_defaults.append("AUTH_TOKEN")
    if values.get("ORIGIN_URL") is None:
        values["ORIGIN_URL"] = f"{DEV_ORIGIN_HOST}:{values['PORT']}"
        dev_defaults.append("ORIGIN_URL")
    values.setdefault("FORWARD_URL", f"{values['ORIGIN_URL']}/api/discord/interactions")
    values.setdefault("LOG_FORMAT", "text" if development else "json")
    return _build(Settings, values, dev_defaults=tuple(dev_defaults))


def load_server_settings(
    environ: Mapping[str, str], env_file: Path | None = Path(".env")
) -> ServerSettings:
    """Only the process runner's variables (gunicorn.conf.py, the worker)."""
    values = _parse(SERVER_SCHEMA, environ, env_file)
    return _build(ServerSettings, values)


def _exit(error: SettingsError, stream: TextIO | None) -> SystemExit:
    print(str(error), file=stream if stream is not None else sys.stderr)
    return SystemExit(2)


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
        raise _exit(error, stream) from None


def load_server_settings_or_exit(
    environ: Mapping[str, str],
    env_file: Path | None = Path(".env"),
    *,
    stream: TextIO | None = None,
) -> ServerSettings:
    """`load_server_settings`, or print the problem list to stderr and exit (as above)."""
    try:
        return load_server_settings(environ, env_file)
    except SettingsError as error:
        raise _exit(error, stream) from None
