"""The platform's GitLab token and the webhook secret, read from the environment variables the event YAML names
(``gitlab.token_env``, ``gitlab.webhook_secret_env``), falling back to ``GREENHACK_GITLAB_TOKEN`` /
``GREENHACK_WEBHOOK_SECRET`` through :class:`~greenhack.settings.Settings`. Never from the YAML itself."""

from __future__ import annotations

import os

from pydantic import SecretStr

from greenhack.config import EventConfig
from greenhack.settings import Settings

__all__ = ["gitlab_token", "webhook_secret"]


def _from_env(name: str | None, fallback: SecretStr | None) -> SecretStr | None:
    if name:
        value = os.environ.get(name, "").strip()
        if value:
            return SecretStr(value)
    return fallback if fallback is not None and fallback.get_secret_value().strip() else None


def gitlab_token(config: EventConfig, settings: Settings) -> SecretStr | None:
    """The platform's GitLab token (api scope), or None when unset."""
    return _from_env(config.gitlab.token_env if config.gitlab else None, settings.gitlab_token)


def webhook_secret(config: EventConfig, settings: Settings) -> SecretStr | None:
    """The secret GitLab sends as ``X-Gitlab-Token``, or None when unset."""
    return _from_env(config.gitlab.webhook_secret_env if config.gitlab else None, settings.webhook_secret)
