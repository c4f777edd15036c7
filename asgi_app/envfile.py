"""The `.env` file, read with python-dotenv; problems by line number, never the content."""

from __future__ import annotations

import io
import re
from pathlib import Path

from dotenv.parser import parse_stream

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_LEADING_KEY = re.compile(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=")


def read_env_file(path: Path) -> tuple[dict[str, str], list[str]]:
    """KEY=VALUE lines, `#` comments, optional `export ` and quotes (python-dotenv's syntax,
    without `${VAR}` expansion). Returns the values and the problems (by line number and
    name, never the content). A missing file is no problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}, []
    except (OSError, UnicodeDecodeError):
        return {}, [f"{path.name}: cannot be read"]
    values: dict[str, str] = {}
    problems: list[str] = []
    for binding in parse_stream(io.StringIO(text)):
        where = f"{path.name} line {binding.original.line}"
        if binding.error:
            named = _LEADING_KEY.match(binding.original.string)
            if named is None:
                problems.append(f"{where}: expected KEY=VALUE")
            else:
                problems.append(f"{where} ({named.group(1)}): unreadable quoted value")
            continue
        if binding.key is None:  # a blank line or a comment
            continue
        if binding.value is None or not _KEY.fullmatch(binding.key):
            problems.append(f"{where}: expected KEY=VALUE")
            continue
        values[binding.key] = binding.value
    return values, problems
