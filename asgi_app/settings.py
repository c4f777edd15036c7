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
from asgi_app.event_forwards import event_forwards, intent_rules, with_event_defaults
from asgi_app.proxy_allow import ProxyAllow, proxy_allow
from asgi_app.secure_urls import secure_url_rules
from asgi_app.setting_types import (
    InteractionPolicy,
    ResponseMode,
    Secret,
    Tokens,
    hex_key,
    interaction_policy,
    is_origin,
    is_proxy_list,
    normalise_origin,
    proxy_list,
    tokens,
)
from asgi_app.shard_settings import ShardIds, shard_ids, shard_rules
from gateway.events.filters import Forwards

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
    #: A comma-separated list: every one accepted, the first keys the signatures.
    auth_token: Tokens = setting(tokens(), production=True)
    #: `http://127.0.0.1:{PORT}` in development when unset.
    origin_url: str = setting(
        v.string()
        .refine(is_origin, "must be an origin: http(s)://host[:port], without a path")
        .transform(normalise_origin),
        production=True,
    )
    #: `{ORIGIN_URL}/api/discord/interactions` when unset.
    forward_url: str = setting(_http_url().optional())
    #: `{ORIGIN_URL}/api/discord/timers` when unset: where league timers are delivered.
    timers_url: str = setting(_http_url().optional())
    discord_api_base: str = setting(_http_url().default("https://discord.com/api/v10"))
    gateway_intents: int = setting(v.coerce.int().min(0).default(5))
    gateway_compression: Compression = setting(
        v.enum(["none", "zlib-stream", "zstd-stream"]).default("zlib-stream")
    )
    shard_count: int | None = setting(v.coerce.int().min(1).optional())
    #: `auto`: the nodes share the shards by lease in REDIS_URL (asgi_app/shard_settings.py).
    shard_ids: ShardIds | None = setting(shard_ids.optional())
    #: Test-only: the shard lease's life (15 s; renewals and waits scale with it).
    shard_lease_seconds: float = setting(v.coerce.number().min(1).max(60).default(15.0))
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
    # -- credentials (CONTRACT.md, "Credentials and limits"): each secret opens one door --
    #: Keys the overlay view keys instead of AUTH_TOKEN (AUTH_TOKEN can then rotate freely).
    view_key_secret: Tokens | None = setting(tokens().optional())
    #: When set, only it opens the REST proxy (AUTH_TOKEN no longer does).
    proxy_token: Tokens | None = setting(tokens().optional())
    #: Unset: the proxy passes every route (a warning at start in production).
    proxy_allow: ProxyAllow | None = setting(proxy_allow.optional())
    #: Also opens GET /metrics, and nothing else.
    metrics_token: Tokens | None = setting(tokens().optional())
    #: Adds `Authorization: <first AUTH_TOKEN>` to deliveries to the main app.
    forward_legacy_auth: bool = setting(v.coerce.boolean().default(False))
    discord_public_key: str | None = setting(hex_key().optional())
    proxy_body_limit_bytes: int = setting(v.coerce.int().min(1).default(26_214_400))
    proxy_max_wait_seconds: float = setting(v.coerce.number().min(0).default(10.0))
    forward_max_in_flight: int = setting(v.coerce.int().min(1).default(1000))
    # -- events for the main app (CONTRACT "Gateway events"; asgi_app/event_forwards.py) --
    event_forwards: Forwards = setting(event_forwards.optional())
    #: `{ORIGIN_URL}/api/discord/events` when unset.
    events_url: str = setting(_http_url().optional())
    events_batch_max: int = setting(v.coerce.int().min(1).max(100).default(1))
    events_batch_wait_ms: int = setting(v.coerce.int().min(0).max(5000).default(0))
    events_max_in_flight: int = setting(v.coerce.int().min(1).max(1000).default(32))
    events_max_pending: int = setting(v.coerce.int().min(1).default(100_000))
    events_retry_hours: float = setting(v.coerce.number().positive().default(24.0))
    #: Production: lets the URLs of SECURE_URLS (asgi_app/secure_urls.py) be plain http on a
    #: host that is not loopback.
    allow_insecure_urls: bool = setting(v.coerce.boolean().default(False))
    # -- not variables --
    dev_defaults: tuple[str, ...] = field(default=())

    @property
    def is_development(self) -> bool:
        return self.app_env == "development"

    @property
    def use_simulator(self) -> bool:
        """Development without a BOT_TOKEN runs against the embedded Discord simulator."""
        return self.is_development and self.bot_token is None

    @property
    def view_secrets(self) -> tuple[str, ...]:
        """What keys the overlay view keys: VIEW_KEY_SECRET, else AUTH_TOKEN (the first of
        the list makes new URLs; every one is accepted)."""
        return (self.view_key_secret or self.auth_token).all()

    def secret_values(self) -> tuple[str, ...]:
        """The raw secret strings (for the log scrubber), including a Redis password."""
        found = (self.bot_token, self.redis_url, self.forward_signing_key)
        values = [s.get() for s in found if s]
        lists = (self.auth_token, self.view_key_secret, self.proxy_token, self.metrics_token)
        values.extend(value for tokens in lists if tokens for value in tokens.all())
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
            keep = (production and f.metadata["production"]) or schema.may_be_absent
            shape[f.name.upper()] = schema if keep else schema.optional()
    return shape


#: Development: every variable optional; cross-field rules once the fields are readable.
ENV_SCHEMA = v.object(_variables(Settings)).super_refine(shard_rules).super_refine(intent_rules)
#: Production: the same, with the secrets and the origin required.
PRODUCTION_SCHEMA = (
    v.object(_variables(Settings, production=True))
    .super_refine(shard_rules)
    .super_refine(secure_url_rules)
    .super_refine(intent_rules)
)
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
        values["AUTH_TOKEN"] = Tokens([token_factory()])
        dev_defaults.append("AUTH_TOKEN")
    if values.get("ORIGIN_URL") is None:
        values["ORIGIN_URL"] = f"{DEV_ORIGIN_HOST}:{values['PORT']}"
        dev_defaults.append("ORIGIN_URL")
    values.setdefault("FORWARD_URL", f"{values['ORIGIN_URL']}/api/discord/interactions")
    values.setdefault("TIMERS_URL", f"{values['ORIGIN_URL']}/api/discord/timers")
    values.setdefault("LOG_FORMAT", "text" if development else "json")
    with_event_defaults(values, development)
    return _build(Settings, values, dev_defaults=tuple(dev_defaults))


def load_server_settings(
    environ: Mapping[str, str], env_file: Path | None = Path(".env")
) -> ServerSettings:
    """Only the process runner's variables (gunicorn.conf.py, the worker)."""
    values = _parse(SERVER_SCHEMA, environ, env_file)
    return _build(ServerSettings, values)


def _exit(error: SettingsError, stream: TextIO | None) -> SystemExit:
    print(str(error), file=stream if stream is not None else sys.stderr)
    return SystemExit(3)


def load_settings_or_exit(
    environ: Mapping[str, str],
    env_file: Path | None = Path(".env"),
    *,
    stream: TextIO | None = None,
) -> Settings:
    """`load_settings`, or print the problem list to stderr and exit with status 3.

    3 is gunicorn's WORKER_BOOT_ERROR: its arbiter then stops instead of starting another
    worker (any other status would restart the worker forever), and exits 3 itself.
    """
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
