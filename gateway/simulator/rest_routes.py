"""The Discord REST routes this server calls, answered the way Discord answers them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gateway.simulator.config import SimConfig
from gateway.simulator.gateway_server import GatewayServer
from gateway.simulator.interaction_log import InteractionLog, InteractionRecord
from gateway.simulator.rest_api import Reply, RestApi, RestRequest, error
from gateway.simulator.snowflake import Snowflakes

CALLBACK_TYPES = frozenset({1, 4, 5, 6, 7, 8, 9, 10, 12})
COMPONENT_ONLY = frozenset({6, 7})  # DEFERRED_UPDATE_MESSAGE, UPDATE_MESSAGE
EPHEMERAL = 1 << 6


class DiscordRoutes:
    def __init__(
        self,
        config: SimConfig,
        gateway: GatewayServer,
        log: InteractionLog,
        ids: Snowflakes,
    ) -> None:
        self.config = config
        self.gateway = gateway
        self.log = log
        self.ids = ids
        self.gateway_bot_status: int | None = None
        self.messages: list[dict[str, Any]] = []
        self.unknown_callbacks: list[RestRequest] = []

    def install(self, rest: RestApi) -> None:
        add = rest.add_route
        add("GET", "/gateway", self.gateway_info, auth=False, limit=(5, 5.0))
        add("GET", "/gateway/bot", self.gateway_bot, limit=(5, 5.0))
        add("GET", "/users/@me", self.me, limit=(5, 1.0))
        add(
            "POST",
            "/interactions/{interaction_id}/{token}/callback",
            self.callback,
            auth=False,
            limit=(50, 1.0),
            major="interaction_id",
        )
        add(
            "PATCH",
            "/webhooks/{application_id}/{token}/messages/@original",
            self.edit_original,
            auth=False,
            limit=(5, 2.0),
            major="token",
        )
        add(
            "POST",
            "/webhooks/{application_id}/{token}",
            self.follow_up,
            auth=False,
            limit=(5, 2.0),
            major="token",
        )
        add(
            "POST",
            "/channels/{channel_id}/messages",
            self.create_message,
            limit=(5, 5.0),
            major="channel_id",
        )

    # ------------------------------------------------------------------ gateway
    async def gateway_info(self, req: RestRequest) -> Reply:
        return Reply(200, {"url": self.gateway.url})

    async def gateway_bot(self, req: RestRequest) -> Reply:
        if self.gateway_bot_status is not None:
            status = self.gateway_bot_status
            return error(status, f"{status}: simulated /gateway/bot failure")
        return Reply(
            200,
            {
                "url": self.gateway.url,
                "shards": self.gateway.required_shards or self.config.shards,
                "session_start_limit": self.gateway.start_limit(),
            },
        )

    async def me(self, req: RestRequest) -> Reply:
        return Reply(200, self._bot_user())

    # ------------------------------------------------------------------ interactions
    async def callback(self, req: RestRequest) -> Reply:
        record = self.log.get(req.params["interaction_id"])
        if record is not None:
            record.callbacks.append(req)
        body = req.json
        kind = body.get("type") if isinstance(body, dict) else None
        if not isinstance(kind, int) or kind not in CALLBACK_TYPES:
            return _invalid_form("type", "Value must be one of the callback types.")
        if record is None:
            if self.config.strict_interactions:
                return error(404, "Unknown interaction", 10062)
            self.unknown_callbacks.append(req)
            return Reply(204)
        if record.token != req.params["token"]:
            return error(404, "Unknown interaction", 10062)
        if record.acked_at is not None:
            return error(400, "Interaction has already been acknowledged.", 40060)
        problem = _callback_problem(record, kind)
        if problem is not None:
            return _invalid_form("type", problem)
        if (
            record.sent_at is not None
            and req.at - record.sent_at > self.config.interaction_ack_deadline
        ):
            return error(404, "Unknown interaction", 10062)
        record.acked_at = req.at
        record.ack_type = kind
        return Reply(204)

    async def edit_original(self, req: RestRequest) -> Reply:
        record, problem = self._webhook(req)
        if problem is not None:
            return problem
        if record is not None and record.acked_at is None:
            return error(404, "Unknown Message", 10008)
        return self._message_reply(req, record, webhook=True)

    async def follow_up(self, req: RestRequest) -> Reply:
        record, problem = self._webhook(req)
        if problem is not None:
            return problem
        if record is not None and record.acked_at is None:
            return error(404, "Unknown Webhook", 10015)
        return self._message_reply(req, record, webhook=True)

    def _webhook(self, req: RestRequest) -> tuple[InteractionRecord | None, Reply | None]:
        if req.params["application_id"] != self.config.application_id:
            return None, error(404, "Unknown Webhook", 10015)
        record = self.log.by_token(req.params["token"])
        if record is None and self.config.strict_interactions:
            return None, error(404, "Unknown Webhook", 10015)
        return record, None

    # ------------------------------------------------------------------ messages
    async def create_message(self, req: RestRequest) -> Reply:
        return self._message_reply(req, None, webhook=False)

    def _message_reply(
        self, req: RestRequest, record: InteractionRecord | None, *, webhook: bool
    ) -> Reply:
        body = req.json if isinstance(req.json, dict) else {}
        content = body.get("content") or ""
        embeds = body.get("embeds") or []
        if not isinstance(content, str) or len(content) > 2000:
            return _invalid_form("content", "Must be 2000 or fewer in length.")
        if not isinstance(embeds, list) or len(embeds) > 10:
            return _invalid_form("embeds", "Must be 10 or fewer in length.")
        if not content and not embeds and not body.get("components") and req.method == "POST":
            return error(400, "Cannot send an empty message", 50006)
        channel_id = req.params.get("channel_id")
        if channel_id is None and record is not None:
            channel_id = str(record.interaction.get("channel_id", ""))
        message: dict[str, Any] = {
            "id": self.ids.next(),
            "type": 0 if not webhook else 20,
            "channel_id": channel_id or self.ids.next(),
            "content": content,
            "embeds": embeds,
            "components": body.get("components") or [],
            "attachments": [],
            "mentions": [],
            "mention_roles": [],
            "mention_everyone": False,
            "pinned": False,
            "tts": False,
            "flags": int(body.get("flags") or 0) & EPHEMERAL,
            "author": self._bot_user(),
            "timestamp": datetime.fromtimestamp(self.config.wall_clock(), UTC).isoformat(),
            "edited_timestamp": None,
        }
        if webhook:
            message["webhook_id"] = self.config.application_id
            message["application_id"] = self.config.application_id
        self.messages.append({"route": req.route, "request": req, "message": message})
        return Reply(200, message)

    def _bot_user(self) -> dict[str, Any]:
        return {
            "id": self.config.bot_user_id,
            "username": self.config.bot_username,
            "discriminator": "0",
            "global_name": None,
            "avatar": None,
            "bot": True,
        }


def _callback_problem(record: InteractionRecord, kind: int) -> str | None:
    interaction_type = record.type
    if interaction_type == 4 and kind != 8:
        return "Autocomplete interactions can only be answered with type 8."
    if kind == 8 and interaction_type != 4:
        return "Type 8 answers autocomplete interactions only."
    if kind in COMPONENT_ONLY and not (
        interaction_type == 3 or (interaction_type == 5 and "message" in record.interaction)
    ):
        return "Types 6 and 7 need an interaction on a message."
    if kind == 9 and interaction_type == 5:
        return "A modal submit cannot open another modal."
    return None


def _invalid_form(field: str, message: str) -> Reply:
    return Reply(
        400,
        {
            "message": "Invalid Form Body",
            "code": 50035,
            "errors": {field: {"_errors": [{"code": "BASE_TYPE_INVALID", "message": message}]}},
        },
    )
