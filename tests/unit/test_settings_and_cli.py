"""Settings from the environment, the kept signing key, and the `catalyst users` commands."""

from __future__ import annotations

import asyncio
import io
import stat
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import platformdirs
import pytest
from aiohttp.test_utils import TestClient, TestServer

from catalyst_adapters.security import JwtTokenIssuer
from catalyst_api import cli
from catalyst_api.app import create_app
from catalyst_api.settings import SECRET_FILE, Settings, sqlite_path
from tests.unit.conftest import ENV_KEYS

# -- Settings -----------------------------------------------------------------------------------------

def test_defaults_are_a_sqlite_file_in_the_user_data_folder() -> None:
    # One folder whatever the current one (issue 13): the platform's user data folder.
    s = Settings.from_env({})
    expected = platformdirs.user_data_path("catalyst", appauthor=False)
    assert s.data_dir == expected and s.data_dir.is_absolute()
    assert s.database_url == f"sqlite+aiosqlite:///{expected / 'catalyst.db'}"
    assert sqlite_path(s.database_url) == expected / "catalyst.db"
    assert s.storage_kind == "sql"
    assert s.jwt_secret is None
    assert (s.jwt_algorithm, s.jwt_lifetime_seconds) == ("HS256", 2_628_000)
    assert s.max_body_bytes == 1024 * 1024
    assert s.log_level == "INFO"


def test_from_env_reads_every_setting(tmp_path: Path) -> None:
    s = Settings.from_env({"CATALYST_DATA_DIR": str(tmp_path), "CATALYST_JWT_SECRET": "s" * 40,
                           "CATALYST_JWT_LIFETIME_SECONDS": "60", "CATALYST_MAX_BODY_BYTES": "2048",
                           "CATALYST_JWT_ALGORITHM": "HS512", "CATALYST_LOG_LEVEL": "DEBUG"})
    assert s.data_dir == tmp_path
    assert s.database_url == f"sqlite+aiosqlite:///{tmp_path / 'catalyst.db'}"
    assert (s.jwt_secret, s.jwt_lifetime_seconds, s.max_body_bytes) == ("s" * 40, 60, 2048)
    assert (s.jwt_algorithm, s.log_level) == ("HS512", "DEBUG")
    assert Settings.from_env({"CATALYST_JWT_SECRET": ""}).jwt_secret is None  # empty means unset


def test_memory_storage_from_env() -> None:
    s = Settings.from_env({"CATALYST_DATABASE_URL": "memory"})
    assert s.storage_kind == "memory"
    assert sqlite_path(s.database_url) is None


def test_from_env_reads_the_process_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("CATALYST_DATA_DIR", str(tmp_path))
    assert Settings.from_env().data_dir == tmp_path


def test_with_secret_creates_a_private_key_file_and_reuses_it(tmp_path: Path) -> None:
    data_dir = tmp_path / "fresh" / "data"
    settings = Settings.from_env({"CATALYST_DATA_DIR": str(data_dir)})
    first = settings.with_secret()
    key_file = data_dir / SECRET_FILE
    assert key_file.is_file()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert first.jwt_secret and len(first.jwt_secret) >= 32
    assert key_file.read_text().strip() == first.jwt_secret

    # A restart reads the same key, so tokens issued before it still verify.
    second = Settings.from_env({"CATALYST_DATA_DIR": str(data_dir)}).with_secret()
    assert second.jwt_secret == first.jwt_secret
    now = datetime.now(UTC)
    token = JwtTokenIssuer(first.jwt_secret).issue(uuid.UUID(int=1), now=now).token
    assert JwtTokenIssuer(second.jwt_secret).verify(token, now=now).user_id == uuid.UUID(int=1)


def test_with_secret_keeps_a_configured_secret_and_writes_nothing(tmp_path: Path) -> None:
    s = Settings.from_env({"CATALYST_DATA_DIR": str(tmp_path), "CATALYST_JWT_SECRET": "k" * 40})
    assert s.with_secret().jwt_secret == "k" * 40
    assert not (tmp_path / SECRET_FILE).exists()


def test_memory_storage_gets_a_fresh_secret_and_no_file(tmp_path: Path) -> None:
    s = Settings.from_env({"CATALYST_DATA_DIR": str(tmp_path), "CATALYST_DATABASE_URL": "memory"})
    a, b = s.with_secret().jwt_secret, s.with_secret().jwt_secret
    assert a and b and a != b and len(a) >= 32
    assert not (tmp_path / SECRET_FILE).exists()


def test_an_unusable_key_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / SECRET_FILE).write_text("short\n")
    with pytest.raises(RuntimeError, match="signing key"):
        Settings.from_env({"CATALYST_DATA_DIR": str(tmp_path)}).with_secret()


# -- CLI ------------------------------------------------------------------------------------------------

def run_cli(monkeypatch: pytest.MonkeyPatch, argv: list[str], stdin: str = "") -> int:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    return cli.main(argv)


async def _login(settings: Settings, email: str, password: str) -> tuple[int, dict[str, Any], int]:
    """Log in through a fresh app on `settings`; answers (status, body, status of /users/me)."""
    client = TestClient(TestServer(create_app(settings)))
    await client.start_server()
    try:
        r = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
        body = await r.json()
        me_status = 0
        if r.status == 200:
            me = await client.get("/api/v1/users/me",
                                  headers={"Authorization": f"Bearer {body['data']['access_token']}"})
            me_status = me.status
        return r.status, body, me_status
    finally:
        await client.close()


def login(email: str, password: str) -> tuple[int, dict[str, Any], int]:
    return asyncio.run(_login(Settings.from_env(), email, password))


def test_users_create_admin_then_log_in(cli_env: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["users", "create", "--admin", "--email", "Root@Example.com", "--name", "Root", "--password-stdin"]
    code = run_cli(monkeypatch, argv, stdin="operator password 1\n")
    assert code == 0
    assert "root@example.com" in capsys.readouterr().out
    assert (cli_env / "catalyst.db").is_file()
    assert stat.S_IMODE((cli_env / SECRET_FILE).stat().st_mode) == 0o600

    status, body, me_status = login("root@example.com", "operator password 1")
    assert status == 200, body
    assert body["data"]["user"]["role"] == "admin"
    assert body["data"]["user"]["email"] == "root@example.com"
    assert me_status == 200
    # The trailing newline of stdin is not part of the password.
    assert login("root@example.com", "operator password 1\n")[0] == 401


def test_users_create_without_admin_makes_a_member(cli_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run_cli(monkeypatch, ["users", "create", "--email", "m@example.com", "--name", "M",
                                 "--password-stdin"], stdin="member password\n") == 0
    status, body, _ = login("m@example.com", "member password")
    assert status == 200 and body["data"]["user"]["role"] == "member"


def test_users_create_reports_domain_errors(cli_env: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["users", "create", "--email", "dup@example.com", "--name", "D", "--password-stdin"]
    assert run_cli(monkeypatch, argv, stdin="first password\n") == 0
    capsys.readouterr()
    assert run_cli(monkeypatch, argv, stdin="second password\n") == 1
    assert "error:" in capsys.readouterr().err
    assert run_cli(monkeypatch, ["users", "create", "--email", "x@example.com", "--name", "X",
                                 "--password-stdin"], stdin="short\n") == 1
    assert "password" in capsys.readouterr().err
    assert login("dup@example.com", "first password")[0] == 200
    assert login("dup@example.com", "second password")[0] == 401
    assert login("x@example.com", "short")[0] == 401


def test_users_deactivate_and_activate(cli_env: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(monkeypatch, ["users", "create", "--email", "d@example.com", "--name", "D",
                                 "--password-stdin"], stdin="some password\n") == 0
    assert login("d@example.com", "some password")[0] == 200

    assert run_cli(monkeypatch, ["users", "deactivate", "D@example.com"]) == 0
    assert "deactivated" in capsys.readouterr().out
    assert login("d@example.com", "some password")[0] == 401

    assert run_cli(monkeypatch, ["users", "activate", "d@example.com"]) == 0
    assert login("d@example.com", "some password")[0] == 200

    assert run_cli(monkeypatch, ["users", "deactivate", "ghost@example.com"]) == 1
    assert "not found" in capsys.readouterr().err


def test_deactivation_stops_a_token_issued_before(cli_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run_cli(monkeypatch, ["users", "create", "--email", "t@example.com", "--name", "T",
                                 "--password-stdin"], stdin="some password\n") == 0

    async def scenario() -> tuple[int, int]:
        settings = Settings.from_env()
        client = TestClient(TestServer(create_app(settings)))
        await client.start_server()
        try:
            credentials = {"email": "t@example.com", "password": "some password"}
            r = await client.post("/api/v1/auth/login", json=credentials)
            headers = {"Authorization": f"Bearer {(await r.json())['data']['access_token']}"}
            before = (await client.get("/api/v1/users/me", headers=headers)).status
            # The operator runs the CLI while the server is up (another process in real life).
            await asyncio.to_thread(run_cli, monkeypatch, ["users", "deactivate", "t@example.com"])
            after = (await client.get("/api/v1/users/me", headers=headers)).status
            return before, after
        finally:
            await client.close()

    assert asyncio.run(scenario()) == (200, 401)


def test_migrate_command(cli_env: Path, monkeypatch: pytest.MonkeyPatch,
                         capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(monkeypatch, ["migrate"]) == 0
    assert "up to date" in capsys.readouterr().out
    assert (cli_env / "catalyst.db").is_file()


def test_serve_with_workers_needs_a_database_the_processes_share(
        cli_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    for url in ("memory", "sqlite+aiosqlite:///:memory:"):
        monkeypatch.setenv("CATALYST_DATABASE_URL", url)
        assert cli.main(["serve", "--workers", "2"]) == 2
        assert "share" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["serve", "--workers", "0"])


def test_workers_setting() -> None:
    assert Settings.from_env({}).workers == 1
    assert Settings.from_env({"CATALYST_WORKERS": "3"}).workers == 3
    assert Settings.from_env({}).shared_between_processes
    assert Settings.from_env({"CATALYST_DATABASE_URL": "postgresql+asyncpg://db/x"}).shared_between_processes
    assert not Settings.from_env({"CATALYST_DATABASE_URL": "memory"}).shared_between_processes


@pytest.mark.parametrize(("text", "on"), [("1", True), ("true", True), ("YES", True), ("on", True),
                                          ("0", False), ("false", False), ("no", False), ("", False)])
def test_the_scheduler_switch_reads_the_usual_spellings(text: str, on: bool) -> None:
    assert Settings.from_env({"CATALYST_SCHEDULER": text}).scheduler is on
    assert Settings.from_env({}).scheduler is True  # on by default


def test_a_scheduler_switch_that_means_nothing_is_refused() -> None:
    with pytest.raises(ValueError, match="expected 1 or 0"):
        Settings.from_env({"CATALYST_SCHEDULER": "maybe"})


def test_webhook_settings_are_read() -> None:
    settings = Settings.from_env({"CATALYST_WEBHOOK_URL": "https://hooks.example/catalyst",
                                  "CATALYST_WEBHOOK_SECRET": "whsec_c2VjcmV0",
                                  "CATALYST_WEBHOOK_TIMEOUT_SECONDS": "2.5",
                                  "CATALYST_WEBHOOK_MAX_ATTEMPTS": "3"})
    assert (settings.webhook_url, settings.webhook_secret, settings.webhook_timeout_seconds,
            settings.webhook_max_attempts) == ("https://hooks.example/catalyst", "whsec_c2VjcmV0",
                                               2.5, 3)
