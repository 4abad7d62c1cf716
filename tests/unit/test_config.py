"""Configuration (core.md): environment variables, `secteur.toml`, refusing insecure secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from secteur.config import InsecureSettings, Settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in (
        "SECTEUR_DATABASE_URL",
        "SECTEUR_SECRET_KEY",
        "SECTEUR_HOST",
        "SECTEUR_PORT",
        "SECTEUR_LOG_LEVEL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SECTEUR_DATA_DIR", str(tmp_path))


def test_the_default_database_is_sqlite_in_the_data_directory(tmp_path: Path) -> None:
    settings = Settings()
    assert settings.effective_database_url == f"sqlite:///{tmp_path / 'secteur.db'}"
    assert settings.is_sqlite


def test_environment_variables_win_over_the_toml_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "secteur.toml").write_text(
        'SECTEUR_PORT = 9000\nhost = "0.0.0.0"\nlog_level = "debug"\n'
    )
    settings = Settings()
    assert (settings.port, settings.host, settings.log_level) == (9000, "0.0.0.0", "debug")
    monkeypatch.setenv("SECTEUR_PORT", "9100")
    assert Settings().port == 9100


@pytest.mark.parametrize("secret", ["", "changeme", "short-secret", "SECRET"])
def test_a_missing_short_or_known_secret_is_refused_outside_demo_mode(secret: str) -> None:
    with pytest.raises(InsecureSettings):
        Settings(secret_key=secret).check_secure()


def test_a_long_random_secret_is_accepted_and_demo_mode_needs_none() -> None:
    Settings(secret_key="x" * 20 + "y" * 20).check_secure()
    Settings(demo=True).check_secure()


def test_an_unknown_log_level_is_refused() -> None:
    with pytest.raises(ValueError, match="log level"):
        Settings(log_level="chatty")


def test_without_a_secret_a_random_signing_key_is_kept_in_the_data_directory(
    tmp_path: Path,
) -> None:
    first = Settings(demo=True).signing_secret()
    assert len(first) >= 32 and first == Settings(demo=True).signing_secret()
    assert (tmp_path / "generated-secret").stat().st_mode & 0o077 == 0
    assert Settings(secret_key="k" * 40).signing_secret() == "k" * 40
