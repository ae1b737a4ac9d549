"""The `catalyst` command as a newcomer meets it (issue 13): passwords without a prompt, one data
folder whatever the current one, one clear line instead of a traceback, backups, quiet alembic."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from catalyst_api import cli
from catalyst_api.backup import backup_database
from catalyst_api.settings import Settings
from tests.unit.test_settings_and_cli import login, run_cli


def test_users_create_without_a_password_generates_one_and_prints_it_once(
        cli_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # As from a script: stdin is not a terminal and holds nothing. No prompt, no validation error.
    assert run_cli(monkeypatch, ["users", "create", "--admin", "--email", "a@example.com",
                                 "--name", "A"]) == 0
    out = capsys.readouterr().out
    password = next(line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("password: "))
    assert len(password) >= 20
    assert login("a@example.com", password)[0] == 200


def test_password_stdin_and_prompt_fail_clearly(cli_env: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    base = ["users", "create", "--email", "b@example.com", "--name", "B"]
    assert run_cli(monkeypatch, [*base, "--password-stdin"], stdin="") == 2
    assert "standard input held no password" in capsys.readouterr().err
    assert run_cli(monkeypatch, [*base, "--prompt"]) == 2  # StringIO is no terminal
    assert "--password-stdin" in capsys.readouterr().err
    assert login("b@example.com", "")[0] in (401, 422)


def test_every_folder_uses_one_data_dir(cli_env: Path, monkeypatch: pytest.MonkeyPatch,
                                        tmp_path: Path) -> None:
    monkeypatch.delenv("CATALYST_DATA_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))  # platformdirs' user data folder
    first, second = tmp_path / "one", tmp_path / "two"
    first.mkdir(), second.mkdir()
    monkeypatch.chdir(first)
    assert run_cli(monkeypatch, ["users", "create", "--email", "c@example.com", "--name", "C",
                                 "--password-stdin"], stdin="a long password\n") == 0
    monkeypatch.chdir(second)
    assert run_cli(monkeypatch, ["users", "deactivate", "c@example.com"]) == 0  # found: same database
    assert (tmp_path / "xdg" / "catalyst" / "catalyst.db").is_file()
    assert not list(first.iterdir()) and not list(second.iterdir())


def test_data_dir_option_before_or_after_the_command(cli_env: Path, monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path) -> None:
    for i, argv in enumerate((["--data-dir", str(tmp_path / "a"), "migrate"],
                              ["migrate", "--data-dir", str(tmp_path / "b")])):
        assert run_cli(monkeypatch, argv) == 0
        assert (tmp_path / "ab"[i] / "catalyst.db").is_file()


def test_a_postgres_url_without_its_driver_is_one_line(cli_env: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CATALYST_DATABASE_URL", "postgresql+asyncpg://db.example/catalyst")
    monkeypatch.setitem(sys.modules, "asyncpg", None)  # as if the extra were not installed
    for argv in (["migrate"], ["serve", "--port", "1"]):
        assert run_cli(monkeypatch, argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("error: ")
        assert "pip install 'catalyst-agency[postgres]'" in err


def test_a_port_in_use_is_one_line(cli_env: Path, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert run_cli(monkeypatch, ["serve", "--port", str(port)]) == 1
    err = capsys.readouterr().err
    assert err == (f"error: 127.0.0.1:{port} is already in use (another `catalyst serve`?): stop it, "
                   "or choose another port with --port or CATALYST_PORT\n")


def test_an_invalid_setting_is_one_line(cli_env: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CATALYST_LOG_FORMAT", "xml")
    assert run_cli(monkeypatch, ["migrate"]) == 2
    assert capsys.readouterr().err.startswith("error: a CATALYST_* setting is invalid: expected one of")


def test_commands_do_not_print_alembic_chatter(cli_env: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CATALYST_LOG_LEVEL", "INFO")
    assert run_cli(monkeypatch, ["migrate"]) == 0
    err = capsys.readouterr().err
    assert "alembic" not in err and "Context impl" not in err


def test_a_schema_newer_than_the_code_is_refused(cli_env: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(monkeypatch, ["migrate"]) == 0
    with sqlite3.connect(cli_env / "catalyst.db") as db:
        db.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    capsys.readouterr()
    assert run_cli(monkeypatch, ["migrate"]) == 1
    err = capsys.readouterr().err
    assert "9999_from_the_future" in err and "newer Catalyst" in err and "Traceback" not in err
    with sqlite3.connect(cli_env / "catalyst.db") as db:  # untouched
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [
            ("9999_from_the_future",)]


def test_backup_copies_the_database(cli_env: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert run_cli(monkeypatch, ["users", "create", "--email", "d@example.com", "--name", "D",
                                 "--password-stdin"], stdin="a long password\n") == 0
    target = tmp_path / "copy.db"
    assert run_cli(monkeypatch, ["backup", str(target)]) == 0
    with sqlite3.connect(target) as db:
        assert db.execute("SELECT email FROM users").fetchall() == [("d@example.com",)]
        assert db.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    capsys.readouterr()
    assert run_cli(monkeypatch, ["backup", str(target)]) == 1  # never overwritten by surprise
    assert "--overwrite" in capsys.readouterr().err
    assert run_cli(monkeypatch, ["backup", str(target), "--overwrite"]) == 0
    monkeypatch.setenv("CATALYST_DATABASE_URL", "memory")
    assert run_cli(monkeypatch, ["backup", str(tmp_path / "m.db")]) == 1
    assert "nothing on disk" in capsys.readouterr().err


async def test_backup_while_the_database_is_written(tmp_path: Path) -> None:
    from dependency_injector import providers

    from catalyst_adapters.security import PasslibHasher
    from catalyst_api.container import build_container, start_storage, stop_storage

    settings = Settings.from_env({"CATALYST_DATA_DIR": str(tmp_path), "CATALYST_JWT_SECRET": "k" * 40})
    container = build_container(settings)
    container.hasher.override(providers.Object(PasslibHasher.fast_for_tests()))
    await start_storage(container)
    try:
        async def register(n: int) -> None:
            for i in range(n):
                await container.auth().register(f"u{i}@example.com", "a long password", f"U{i}")

        writer = asyncio.create_task(register(60))
        await asyncio.sleep(0.05)
        done = await backup_database(settings, tmp_path / "live.db")  # in a thread: writes go on
        await writer
    finally:
        await stop_storage(container)
    with sqlite3.connect(done.target) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        copied = db.execute("SELECT count(*) FROM users").fetchone()[0]
    assert 0 <= copied <= 60


def test_help_loads_no_web_or_database_library() -> None:
    code = ("import sys; from catalyst_api import cli\n"
            "try:\n    cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('aiohttp', 'sqlalchemy', 'prometheus_client', 'catalyst_api.app')"
            " if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "CATALYST_DATABASE_URL" in out and "CATALYST_SHUTDOWN_TIMEOUT_SECONDS" in out
    assert out.strip().splitlines()[-1] == "[]"


def test_option_help_shows_defaults_and_variables(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["serve", "--help"])
    out = capsys.readouterr().out
    assert "$CATALYST_HOST" in out and "$CATALYST_PORT" in out and "(default: None)" not in out


def test_users_reset_password_sets_a_new_one_and_revokes_tokens(
        cli_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(monkeypatch, ["users", "create", "--email", "r@example.com", "--name", "R",
                                 "--password-stdin"], stdin="the first password\n") == 0
    assert login("r@example.com", "the first password")[0] == 200
    capsys.readouterr()
    assert run_cli(monkeypatch, ["users", "reset-password", "r@example.com", "--password-stdin"],
                   stdin="the second password\n") == 0
    assert "reset" in capsys.readouterr().out
    assert login("r@example.com", "the first password")[0] == 401
    assert login("r@example.com", "the second password")[0] == 200
    assert run_cli(monkeypatch, ["users", "reset-password", "r@example.com"]) == 0
    generated = next(line.split(": ", 1)[1] for line in capsys.readouterr().out.splitlines()
                     if line.startswith("password: "))
    assert login("r@example.com", generated)[0] == 200
    assert run_cli(monkeypatch, ["users", "reset-password", "nobody@example.com",
                                 "--password-stdin"], stdin="whatever password\n") != 0
