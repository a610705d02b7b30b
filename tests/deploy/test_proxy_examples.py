"""The reverse-proxy examples (deploy/proxy/) let every genuine GitLab webhook through and send the app's security
headers on their own answers, without overriding the app's."""

from __future__ import annotations

import re
from pathlib import Path

from greenhack.gitlab.webhooks import MAX_BODY_BYTES
from greenhack.web.security import APP_CSP, SECURITY_HEADERS

PROXY = Path(__file__).resolve().parents[2] / "deploy" / "proxy"
_NGINX_SIZE_UNIT = {"": 1, "k": 1024, "m": 1024 * 1024, "g": 1024**3}


def test_nginx_accepts_webhook_bodies_as_large_as_gitlab_sends() -> None:
    sizes = re.findall(r"client_max_body_size\s+(\d+)([kmg]?)\s*;", (PROXY / "nginx.conf").read_text(), re.I)
    assert sizes, "nginx.conf sets no client_max_body_size (nginx's default is 1m)"
    for number, unit in sizes:
        assert int(number) * _NGINX_SIZE_UNIT[unit.lower()] >= MAX_BODY_BYTES, (number, unit)


def test_caddy_sets_no_smaller_body_limit() -> None:
    assert "max_size" not in (PROXY / "Caddyfile").read_text()


def _caddy_headers() -> dict[str, str]:
    text = (PROXY / "Caddyfile").read_text()
    block = re.search(r"\n\theader \{\n(.*?)\n\t\}", text, re.S)
    assert block, "the Caddyfile has no header block"
    headers = {}
    for line in block.group(1).splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, value = line.split(None, 1)
            headers[name] = value.strip('"')
    return headers


def test_caddy_sends_the_apps_security_headers_without_overriding_the_apps_own() -> None:
    headers = _caddy_headers()
    # '?' sets a default: the app's answers keep their own policy (the API docs have another one), while the
    # proxy's own answers (a 502 while the app restarts) get the board's
    assert headers["?Content-Security-Policy"] == APP_CSP
    for name, value in SECURITY_HEADERS:
        assert headers[f"?{name}"] == value, name


def test_nginx_sends_the_apps_security_headers_without_overriding_the_apps_own() -> None:
    text = (PROXY / "nginx.conf").read_text()
    csp_map = re.search(r"map \$upstream_http_content_security_policy \$greenhack_csp \{(.*?)\}", text, re.S)
    assert csp_map, "nginx.conf does not fall back from the app's policy to the board's"
    entries = dict(re.findall(r'^\s*(\S+)\s+"?(.*?)"?;\s*$', csp_map.group(1), re.M))
    assert entries == {'""': APP_CSP, "default": "$upstream_http_content_security_policy"}
    added = dict(re.findall(r"^\s*add_header\s+(\S+)\s+\"?([^\";]*)\"?\s+always;", text, re.M))
    assert added["Content-Security-Policy"] == "$greenhack_csp"
    hidden = set(re.findall(r"^\s*proxy_hide_header\s+(\S+);", text, re.M))
    for name, value in SECURITY_HEADERS:
        assert added[name] == value, name
        assert name in hidden, f"{name} would be sent twice (the app's and nginx's)"
    assert "Content-Security-Policy" in hidden
