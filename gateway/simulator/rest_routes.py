"""The Discord REST routes this server calls, answered the way Discord answers them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gateway.simulator.callbacks import (
    CALLBACK_TYPES,
    callback_refusal,
    invalid_form,
    message_refusal,
)
from gateway.simulator.config import SimConfig
from gateway.simulator.gateway_server import GatewayServer
from gateway.simulator.interaction_log import InteractionLog, InteractionRecord
from gateway.simulator.rest_api import Reply, RestApi, RestRequest, error
from gateway.simulator.snowflake import Snowflakes, snowflake_time

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
        # Bearer-only: a bot token gets 401 although it is valid (for the 401 rule's tests)
        add("GET", "/oauth2/@me", self.oauth2_me, auth=False, limit=(5, 1.0), global_limited=True)
        add(
            "POST",
            "/interactions/{interaction_id}/{token}/callback",
            self.callback,
            auth=False,
            limit=(50, 1.0),
            major="interaction_id",
        )
        add(
            "GET",
            "/webhooks/{application_id}/{token}/messages/@original",
            self.get_original,
            auth=False,
            limit=(5, 2.0),
            major="token",
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

    async def oauth2_me(self, req: RestRequest) -> Reply:
        """Current authorization information: an OAuth2 bearer token's route. The simulator
        issues no bearer tokens, so it answers what Discord answers a bot token: 401."""
        return error(401, "401: Unauthorized")

    # ------------------------------------------------------------------ interactions
    async def callback(self, req: RestRequest) -> Reply:
        record = self.log.get(req.params["interaction_id"])
        if record is not None:
            record.callbacks.append(req)
            record.callback_at.append(self.config.wall_clock() - (self.config.clock() - req.at))
        body = req.json
        kind = body.get("type") if isinstance(body, dict) else None
        if not isinstance(kind, int) or kind not in CALLBACK_TYPES:
            return invalid_form(("type",), "BASE_TYPE_CHOICES", "Value must be one of the types.")
        if record is None:
            if self.config.strict_interactions:
                return error(404, "Unknown interaction", 10062)
            self.unknown_callbacks.append(req)
            return Reply(204)
        if record.token != req.params["token"]:
            return error(404, "Unknown interaction", 10062)
        if record.acked_at is not None:
            return error(400, "Interaction has already been acknowledged.", 40060)
        refusal = callback_refusal(record, body)
        if refusal is not None:
            return refusal
        deadline = self.config.interaction_ack_deadline
        arrived = self.config.wall_clock() - (self.config.clock() - req.at)  # unix time
        if (record.sent_at is not None and req.at - record.sent_at > deadline) or (
            arrived - snowflake_time(record.id) > deadline
        ):  # arrived later than 3 s after it was sent, or after its creation (its snowflake)
            return error(404, "Unknown interaction", 10062)
        record.acked_at = req.at
        record.ack_type = kind
        record.ack_body = body
        return Reply(204)

    async def get_original(self, req: RestRequest) -> Reply:
        """The first response's message; 10008 while nothing was acknowledged. After a
        deferred update (6) or an update (7) of a component, the component's message."""
        record, problem = self._webhook(req)
        if problem is not None:
            return problem
        if record is None or record.acked_at is None:
            return error(404, "Unknown Message", 10008)
        source = record.interaction.get("message")
        if record.ack_type in (6, 7) and isinstance(source, dict):
            return Reply(200, source)
        data = (record.ack_body or {}).get("data")
        content = data.get("content", "") if isinstance(data, dict) else ""
        return Reply(
            200,
            {
                "id": record.id,
                "type": 20,
                "content": content,
                "flags": 0,
                "webhook_id": self.config.application_id,
            },
        )

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
        refusal = message_refusal(body, empty_ok=req.method == "PATCH")
        if refusal is not None:
            return refusal
        content = body.get("content") or ""
        embeds = body.get("embeds") or []
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
