"""Body parsing: media types, JSON (any charset) and urlencoded forms, with precise 400/415s."""

from __future__ import annotations

import codecs
from typing import Any
from urllib.parse import parse_qs

import orjson

from asgi_app.http.errors import HTTPError

_UTF8 = frozenset({"utf-8", "utf8"})


def media_type(content_type: str | None) -> tuple[str, dict[str, str]]:
    """Split `type/subtype; a=b` into ("type/subtype", {"a": "b"}), lower-cased, unquoted."""
    if not content_type:
        return "", {}
    main, _, rest = content_type.partition(";")
    params: dict[str, str] = {}
    if rest:
        for part in rest.split(";"):
            key, eq, value = part.partition("=")
            if eq:
                params[key.strip().lower()] = value.strip().strip('"')
    return main.strip().lower(), params


def is_json_type(mime: str) -> bool:
    """application/json and every application/*+json type."""
    return mime == "application/json" or (
        mime.startswith("application/") and mime.endswith("+json")
    )


def decode_json(raw: bytes, charset: str | None = None) -> Any:
    """Decode a JSON body; 400 says where it broke (line/column/char), never what it read."""
    data: bytes | str = raw
    if charset and charset.lower() not in _UTF8:
        try:
            codec = codecs.lookup(charset)
        except LookupError:
            raise HTTPError(415, "Unsupported charset for JSON (use utf-8)") from None
        try:
            data = raw.decode(codec.name)
        except UnicodeDecodeError as exc:
            raise HTTPError(400, f"Body is not valid {codec.name}: byte {exc.start}") from None
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        if not raw.strip():
            raise HTTPError(400, "Body is empty; a JSON document was expected") from None
        raise HTTPError(
            400,
            f"Body is not valid JSON: line {exc.lineno} column {exc.colno} (char {exc.pos})",
        ) from None


def decode_form(raw: bytes, charset: str | None = None) -> dict[str, list[str]]:
    """Decode application/x-www-form-urlencoded; 400 on bad escapes or bad pairs."""
    encoding = charset or "utf-8"
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise HTTPError(415, "Unsupported charset for form data (use utf-8)") from None
    try:
        text = raw.decode("ascii")
        if not text:
            return {}
        return parse_qs(
            text, keep_blank_values=True, strict_parsing=True, encoding=encoding, errors="strict"
        )
    except UnicodeDecodeError as exc:
        raise HTTPError(400, f"Form data is not valid: bad byte at {exc.start}") from None
    except ValueError:
        raise HTTPError(400, "Form data is not valid: expected name=value pairs") from None
