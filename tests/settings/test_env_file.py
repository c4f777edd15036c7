"""The .env file: syntax, precedence (the environment wins), problems without content."""

from __future__ import annotations

from pathlib import Path

import pytest

from asgi_app.settings import SettingsError, load_settings, read_env_file
from tests.support.harness.logcapture import note_settings

AUTH = "a" * 40


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / ".env"
    path.write_text(text, encoding="utf-8")
    return path


def test_syntax(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "# a comment\n"
        "\n"
        "PLAIN=value\n"
        "export EXPORTED=yes\n"
        "SPACED = padded value  \n"
        "INLINE=abc # trailing comment\n"
        "HASH=abc#notacomment\n"
        'DOUBLE="with # hash and \\"quote\\"\\nnewline"\n'
        "SINGLE='raw \\n $HOME'\n"
        "EMPTY=\n"
        "EQUALS=a=b\n",
    )
    values, problems = read_env_file(path)
    assert problems == []
    assert values == {
        "PLAIN": "value",
        "EXPORTED": "yes",
        "SPACED": "padded value",
        "INLINE": "abc",
        "HASH": "abc#notacomment",
        "DOUBLE": 'with # hash and "quote"\nnewline',
        "SINGLE": "raw \\n $HOME",
        "EMPTY": "",
        "EQUALS": "a=b",
    }


def test_bad_lines_are_reported_by_number_without_content(tmp_path: Path) -> None:
    path = write(tmp_path, 'GOOD=1\nSECRETVALUE-no-equals\n1BAD=x\nQ="unterminated SECRETVALUE\n')
    values, problems = read_env_file(path)
    assert values == {"GOOD": "1"}
    assert problems == [
        ".env line 2: expected KEY=VALUE",
        ".env line 3: expected KEY=VALUE",
        ".env line 4 (Q): unreadable quoted value",
    ]
    with pytest.raises(SettingsError) as caught:
        load_settings({"APP_ENV": "development"}, path)
    assert "SECRETVALUE" not in str(caught.value)
    assert ".env line 2: expected KEY=VALUE" in caught.value.problems


def test_missing_file_is_fine(tmp_path: Path) -> None:
    assert read_env_file(tmp_path / "absent") == ({}, [])


def test_environment_wins_and_file_fills_gaps(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"BOT_TOKEN=from-file\nAUTH_TOKEN={AUTH}\nORIGIN_URL=https://file.example\n"
        "GATEWAY_INTENTS=7\nLOG_LEVEL=ERROR\n",
    )
    s = note_settings(
        load_settings(
            {"BOT_TOKEN": "from-env", "ORIGIN_URL": "https://env.example", "LOG_LEVEL": ""}, path
        )
    )
    assert s.bot_token is not None and s.bot_token.get() == "from-env"
    assert s.auth_token.get() == AUTH
    assert s.origin_url == "https://env.example"
    assert s.gateway_intents == 7
    assert s.log_level == "ERROR", "an empty environment value is unset: the file fills it"


def test_file_problems_join_variable_problems(tmp_path: Path) -> None:
    path = write(tmp_path, "GATEWAY_INTENTS=many\nbroken line\n")
    with pytest.raises(SettingsError) as caught:
        load_settings({"APP_ENV": "development"}, path)
    assert caught.value.problems == [
        ".env line 2: expected KEY=VALUE",
        "GATEWAY_INTENTS: expected integer",
    ]


def test_read_through_python_dotenvs_public_api_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`dotenv_values` (not python-dotenv's internal parser); its warning about a line it
    cannot parse becomes our problem by line number and is not printed as well."""
    import ast

    from asgi_app import envfile

    tree = ast.parse(Path(envfile.__file__).read_text())
    imported = {
        (node.module, alias.name)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert ("dotenv", "dotenv_values") in imported
    assert not [m for m, _ in imported if m and m.startswith("dotenv.")], imported
    calls: list[object] = []
    import dotenv

    real = dotenv.dotenv_values

    def spy(*args: object, **kwargs: object) -> object:
        calls.append(kwargs)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(envfile, "dotenv_values", spy)
    path = write(tmp_path, 'A=1\nB="unterminated SECRETVALUE\n')
    assert read_env_file(path) == ({"A": "1"}, [".env line 2 (B): unreadable quoted value"])
    assert len(calls) == 1
    captured = capsys.readouterr()
    assert "could not parse" not in captured.err + captured.out
