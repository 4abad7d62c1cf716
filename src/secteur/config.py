"""Settings from the environment and `secteur.toml` in the data directory (core.md).

See "Configuration" in core.md for the variables and their defaults.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from pathlib import Path
from typing import Any

import platformdirs
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

# Secrets that appear in documentation or examples; accepting one would make sessions forgeable.
KNOWN_DEFAULT_SECRETS = frozenset(
    {"changeme", "change-me", "secret", "secteur", "development", "insecure", "your-secret-key"}
)
MIN_SECRET_LENGTH = 32


class InsecureSettings(ValueError):
    """The configuration would run a production server with a guessable secret."""


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("secteur", appauthor=False))


class _TomlSource(PydanticBaseSettingsSource):
    """Reads `secteur.toml` from the data directory; environment variables win over it."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        data_dir = Path(os.environ.get("SECTEUR_DATA_DIR") or default_data_dir())
        path = data_dir / "secteur.toml"
        self._values: dict[str, Any] = {}
        if path.is_file():
            with path.open("rb") as handle:
                raw = tomllib.load(handle)
            self._values = {k.lower().removeprefix("secteur_"): v for k, v in raw.items()}

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return {k: v for k, v in self._values.items() if k in self.settings_cls.model_fields}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SECTEUR_", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: str = ""
    secret_key: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "info"
    # Demo mode tolerates a generated secret; nothing else does.
    demo: bool = False
    # Largest request body accepted, in bytes.
    max_body_bytes: int = 8 * 1024 * 1024
    access_token_ttl_seconds: int = 3600
    # Web sessions end after this long without a request, and at the latest after the maximum.
    session_idle_minutes: int = Field(default=12 * 60, ge=1)
    session_max_hours: int = Field(default=7 * 24, ge=1)
    # Session cookies carry `Secure` when the request came over HTTPS; set true behind a
    # TLS-terminating proxy that forwards plain HTTP.
    cookie_secure: bool = False

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _TomlSource(settings_cls))

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        allowed = {"critical", "error", "warning", "info", "debug"}
        if value.lower() not in allowed:
            raise ValueError(f"log level must be one of {sorted(allowed)}")
        return value.lower()

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'secteur.db'}"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    def signing_secret(self) -> str:
        """The key that signs page tokens (and, later, web sessions).

        The configured secret; without one (the demo), a random key kept in the data directory,
        so that nothing is ever signed with a value written in the source.
        """
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "generated-secret"
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()

    def check_secure(self) -> None:
        """Refuse to serve with a missing or guessable secret outside demo mode."""
        if self.demo:
            return
        secret = self.secret_key
        if not secret:
            raise InsecureSettings("SECTEUR_SECRET_KEY is required (at least 32 characters)")
        if secret.lower() in KNOWN_DEFAULT_SECRETS or len(secret) < MIN_SECRET_LENGTH:
            raise InsecureSettings(
                "SECTEUR_SECRET_KEY is a known default or shorter than 32 characters"
            )
