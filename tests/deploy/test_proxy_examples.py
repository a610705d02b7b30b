"""The reverse-proxy examples (deploy/proxy/) let every genuine GitLab webhook through."""

from __future__ import annotations

import re
from pathlib import Path

from greenhack.gitlab.webhooks import MAX_BODY_BYTES

PROXY = Path(__file__).resolve().parents[2] / "deploy" / "proxy"
_NGINX_SIZE_UNIT = {"": 1, "k": 1024, "m": 1024 * 1024, "g": 1024**3}


def test_nginx_accepts_webhook_bodies_as_large_as_gitlab_sends() -> None:
    sizes = re.findall(r"client_max_body_size\s+(\d+)([kmg]?)\s*;", (PROXY / "nginx.conf").read_text(), re.I)
    assert sizes, "nginx.conf sets no client_max_body_size (nginx's default is 1m)"
    for number, unit in sizes:
        assert int(number) * _NGINX_SIZE_UNIT[unit.lower()] >= MAX_BODY_BYTES, (number, unit)


def test_caddy_sets_no_smaller_body_limit() -> None:
    assert "max_size" not in (PROXY / "Caddyfile").read_text()
