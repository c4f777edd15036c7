"""Body parsing: media types, JSON (the Unicode charsets, us-ascii, iso-8859-1; at most
MAX_JSON_DEPTH levels deep) and urlencoded forms, with precise 400/415s."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs

import orjson

from asgi_app.http.errors import HTTPError

#: JSON nested deeper than this (arrays and objects inside each other) is refused with 400
#: before it is parsed: no route needs more, and deeper documents cannot be serialised again
#: (orjson stops at 255 levels), so a state stored from one would fail at every read.
MAX_JSON_DEPTH = 64

_UTF8 = frozenset({"utf-8", "utf8"})
#: The charsets a body may declare, by their IANA names and usual aliases (lower case, "_"
#: read as "-"), to the codec that decodes them. Nothing else is looked up: Python's codec
#: registry also holds transforms (rot13, zlib, base64, hex, punycode...) that are not text
#: encodings, and it remembers every name it was asked for.
_CHARSETS: dict[str, str] = {
    **dict.fromkeys(("utf-8", "utf8", "unicode-1-1-utf-8"), "utf-8"),
    **dict.fromkeys(("utf-16", "utf16"), "utf-16"),
    **dict.fromkeys(("utf-16le", "utf16le", "utf-16-le"), "utf-16-le"),
    **dict.fromkeys(("utf-16be", "utf16be", "utf-16-be"), "utf-16-be"),
    **dict.fromkeys(("utf-32", "utf32"), "utf-32"),
    **dict.fromkeys(("utf-32le", "utf32le", "utf-32-le"), "utf-32-le"),
    **dict.fromkeys(("utf-32be", "utf32be", "utf-32-be"), "utf-32-be"),
    **dict.fromkeys(
        (
            "us-ascii",
            "ascii",
            "us",
            "iso646-us",
            "iso-646.irv:1991",
            "ansi-x3.4-1968",
            "ansi-x3.4-1986",
            "iso-ir-6",
            "ibm367",
            "cp367",
            "csascii",
        ),
        "ascii",
    ),
    **dict.fromkeys(
        (
            "iso-8859-1",
            "iso8859-1",
            "iso88591",
            "iso-8859-1:1987",
            "iso-ir-100",
            "latin1",
            "latin-1",
            "l1",
            "ibm819",
            "cp819",
            "csisolatin1",
        ),
        "latin-1",
    ),
}
#: A JSON string, escapes included; an unterminated one runs to the end of the body. Every
#: match that starts succeeds and nothing is scanned twice (possessive, no backtracking), so
#: the scan stays linear for any input, e.g. a quote followed by 50,000 `\"`.
_JSON_STRING = re.compile(rb'"(?:[^"\\]++|\\.?)*+(?:"|\Z)', re.DOTALL)
#: Every byte but the brackets, for bytes.translate's delete argument.
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_OPENING = frozenset(b"[{")


def text_codec(charset: str) -> str | None:
    """The codec of a declared charset, or None when it is not one a body may use."""
    return _CHARSETS.get(charset.strip().lower().replace("_", "-"))


def json_too_deep(data: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when UTF-8 JSON `data` nests arrays/objects more than `limit` levels deep
    (brackets inside strings do not count). Linear; free for documents with few brackets."""
    if data.count(b"[") + data.count(b"{") <= limit:
        return False
    depth = 0
    for byte in _JSON_STRING.sub(b"", data).translate(None, _NOT_BRACKETS):
        if byte in _OPENING:
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


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


def value_too_deep(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when a decoded JSON value nests lists/dicts more than `limit` levels deep (for
    documents not parsed here, such as the main app's answers). Iterative: any depth."""
    stack: list[tuple[Any, int]] = [(value, 1)] if isinstance(value, dict | list) else []
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def decode_json(raw: bytes, charset: str | None = None) -> Any:
    """Decode a JSON body; 400 says where it broke (line/column/char), never what it read."""
    data = raw
    if charset and charset.lower() not in _UTF8:
        codec = text_codec(charset)
        if codec is None:
            raise HTTPError(
                415,
                "Unsupported charset for JSON (use utf-8; utf-16, utf-32, us-ascii and "
                "iso-8859-1 are also read)",
            )
        if codec != "utf-8":
            try:
                data = raw.decode(codec).encode("utf-8")
            except UnicodeDecodeError as exc:
                raise HTTPError(400, f"Body is not valid {codec}: byte {exc.start}") from None
            except UnicodeError:  # e.g. a lone surrogate
                raise HTTPError(400, f"Body is not valid {codec}") from None
    if json_too_deep(data, MAX_JSON_DEPTH):
        raise HTTPError(400, f"Body is nested deeper than {MAX_JSON_DEPTH} levels")
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
    encoding = text_codec(charset) if charset else "utf-8"
    if encoding is None:
        raise HTTPError(415, "Unsupported charset for form data (use utf-8)")
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
