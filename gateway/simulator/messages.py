"""Channel messages, reactions and attachments, answered the way Discord answers them.

`POST /channels/{channel_id}/messages` takes JSON or multipart/form-data (`payload_json` plus
`files[n]` parts, as discord.js sends an upload); `PATCH` and `GET` of one message;
`PUT .../reactions/{emoji}/@me` with Discord's own tight reaction bucket (1 per 0.25 s).
Messages are kept in `DiscordRoutes.messages` (the list every message route appends to).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import unquote

import orjson

from gateway.simulator.rest_api import Reply, RestApi, RestRequest, error
from gateway.simulator.rest_routes import DiscordRoutes


@dataclass(frozen=True, slots=True)
class Upload:
    """One file part of a multipart message."""

    field: str
    filename: str
    content_type: str
    data: bytes


def parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, str], list[Upload]]:
    """(text fields, file parts) of a multipart/form-data body (stdlib MIME parser)."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    if not isinstance(message, EmailMessage) or not message.is_multipart():
        raise ValueError("not a multipart body")
    fields: dict[str, str] = {}
    files: list[Upload] = []
    for part in message.iter_parts():
        if not isinstance(part, EmailMessage):
            continue
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        data = part.get_payload(decode=True)
        payload = data if isinstance(data, bytes) else b""
        filename = part.get_filename()
        if filename is None:
            fields[name] = payload.decode("utf-8")
        else:
            files.append(Upload(name, filename, part.get_content_type(), payload))
    return fields, files


class MessageRoutes:
    def __init__(self, routes: DiscordRoutes) -> None:
        self._routes = routes
        self.uploads: list[Upload] = []

    def install(self, rest: RestApi) -> None:
        add = rest.add_route
        channel = "/channels/{channel_id}/messages"
        add("POST", channel, self.create, limit=(5, 5.0), major="channel_id")
        add("GET", channel + "/{message_id}", self.get, limit=(5, 1.0), major="channel_id")
        add("PATCH", channel + "/{message_id}", self.edit, limit=(5, 5.0), major="channel_id")
        add(
            "PUT",
            channel + "/{message_id}/reactions/{emoji}/@me",
            self.react,
            limit=(1, 0.25),
            major="channel_id",
        )

    def find(self, channel_id: str, message_id: str) -> dict[str, Any] | None:
        for entry in self._routes.messages:
            message: dict[str, Any] = entry["message"]
            if message["id"] == message_id and message["channel_id"] == channel_id:
                return message
        return None

    async def create(self, req: RestRequest) -> Reply:
        files: list[Upload] = []
        content_type = req.headers.get("content-type") or ""
        if content_type.startswith("multipart/form-data"):
            try:
                fields, files = parse_multipart(content_type, req.body)
                req.json = orjson.loads(fields.get("payload_json", "{}"))
            except (ValueError, UnicodeDecodeError):
                return error(400, "The request body contains invalid multipart data.", 50109)
        reply = await self._routes.create_message(req)
        if reply.status == 200 and files:
            self.uploads += files
            reply.json["attachments"] = [
                {
                    "id": self._routes.ids.next(),
                    "filename": upload.filename,
                    "size": len(upload.data),
                    "content_type": upload.content_type,
                    "url": f"https://cdn.discordapp.com/attachments/{upload.filename}",
                }
                for upload in files
            ]
        return reply

    async def get(self, req: RestRequest) -> Reply:
        message = self.find(req.params["channel_id"], req.params["message_id"])
        return Reply(200, message) if message is not None else error(404, "Unknown Message", 10008)

    async def edit(self, req: RestRequest) -> Reply:
        message = self.find(req.params["channel_id"], req.params["message_id"])
        if message is None:
            return error(404, "Unknown Message", 10008)
        body = req.json if isinstance(req.json, dict) else {}
        content = body.get("content", message["content"])
        if not isinstance(content, str) or len(content) > 2000:
            return error(400, "Invalid Form Body", 50035)
        message["content"] = content
        for key in ("embeds", "components"):
            if key in body:
                message[key] = body[key]
        stamp = datetime.fromtimestamp(self._routes.config.wall_clock(), UTC).isoformat()
        message["edited_timestamp"] = stamp
        return Reply(200, message)

    async def react(self, req: RestRequest) -> Reply:
        message = self.find(req.params["channel_id"], req.params["message_id"])
        if message is None:
            return error(404, "Unknown Message", 10008)
        emoji = unquote(req.params["emoji"])
        reactions: list[dict[str, Any]] = message.setdefault("reactions", [])
        for reaction in reactions:
            if reaction["emoji"]["name"] == emoji:
                break
        else:
            reactions.append({"count": 1, "me": True, "emoji": {"id": None, "name": emoji}})
        return Reply(204)
