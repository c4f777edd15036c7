"""The `.env` file, read with python-dotenv's public API (`dotenv_values`); problems by line
number, never the content."""

from __future__ import annotations

import io
import logging
import re
import threading
from pathlib import Path

from dotenv import dotenv_values

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_LEADING_KEY = re.compile(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=")
#: python-dotenv reports a statement it cannot parse as a warning of this logger, with the
#: line number as the record's only argument (and skips the statement).
_DOTENV_LOGGER = "dotenv.main"
_lock = threading.Lock()


class _Unparsed(logging.Handler):
    """Collects the line numbers python-dotenv could not parse."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[int] = []

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args
        if isinstance(args, tuple) and args and isinstance(args[0], int):
            self.lines.append(args[0])


def _parse(text: str) -> tuple[dict[str, str | None], list[int]]:
    """dotenv_values of `text` (no `${VAR}` expansion) and the lines it could not parse; its
    warnings are taken here, not printed (they are reported by number, below)."""
    logger = logging.getLogger(_DOTENV_LOGGER)
    unparsed = _Unparsed()
    with _lock:
        propagate = logger.propagate
        logger.addHandler(unparsed)
        logger.propagate = False
        try:
            values = dotenv_values(stream=io.StringIO(text), interpolate=False)
        finally:
            logger.removeHandler(unparsed)
            logger.propagate = propagate
    return dict(values), unparsed.lines


def _line_of(lines: list[str], key: str) -> int | None:
    """The number of the first line that starts the statement of `key`."""
    pattern = re.compile(rf"\s*(?:export\s+)?{re.escape(key)}\s*(?:[=#]|$)")
    for number, line in enumerate(lines, start=1):
        if pattern.match(line):
            return number
    return None


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
    parsed, unparsed = _parse(text)
    lines = text.splitlines()
    found: list[tuple[int, str]] = []  # (line, problem), sorted by line at the end
    for number in unparsed:
        where = f"{path.name} line {number}"
        named = _LEADING_KEY.match(lines[number - 1]) if 0 < number <= len(lines) else None
        if named is None:
            found.append((number, f"{where}: expected KEY=VALUE"))
        else:
            found.append((number, f"{where} ({named.group(1)}): unreadable quoted value"))
    values: dict[str, str] = {}
    for key, value in parsed.items():
        if value is not None and _KEY.fullmatch(key):
            values[key] = value
            continue
        # A word without `=`, or a name that is not a variable's: by line only (it may be a
        # value pasted on a line of its own).
        number = _line_of(lines, key) or 0
        where = f"{path.name} line {number}" if number else path.name
        found.append((number, f"{where}: expected KEY=VALUE"))
    return values, [problem for _number, problem in sorted(found)]
