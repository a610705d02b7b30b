"""Settings from the environment (``GREENHACK_*``), built where they are needed, never at import time."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["DEFAULT_DATABASE_URL", "Settings", "normalise_database_url"]

# The embedded default: a SQLite file in the working directory, so the demo needs no server.
DEFAULT_DATABASE_URL = "sqlite:///greenhack.db"


def normalise_database_url(url: str) -> str:
    """Point PostgreSQL URLs at psycopg 3, whatever driver (or none) they name."""
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Settings(BaseSettings):
    """Deployment settings. Event rules live in the event YAML; secrets and addresses live here."""

    model_config = SettingsConfigDict(
        env_prefix="GREENHACK_", env_file=".env", env_ignore_empty=True, extra="ignore"
    )

    database_url: str = DEFAULT_DATABASE_URL
    log_level: str = "INFO"
    # bearer token of the admin routes; admin routes answer 401 while it is unset
    admin_token: SecretStr | None = None
    # the event YAML's gitlab.token_env / webhook_secret_env name these by default
    gitlab_token: SecretStr | None = None
    webhook_secret: SecretStr | None = None
    # override the event YAML's service addresses (e.g. inside docker compose)
    prometheus_url: str | None = None
    boavizta_url: str | None = None
    # where the impact factor cache and other small state live
    data_dir: Path = Path(".greenhack")
    # public address of the board, used in links sent to GitLab
    public_url: str = "http://127.0.0.1:8000"

    @field_validator("database_url")
    @classmethod
    def _psycopg3(cls, value: str) -> str:
        return normalise_database_url(value)

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        level = value.upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ValueError("GREENHACK_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR")
        return level
