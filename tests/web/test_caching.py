"""Conditional requests on every cached route: an ETag from the cache entry, ``Cache-Control: no-cache``, and 304
on a matching ``If-None-Match`` in any form RFC 9110 (section 13.1.2) allows: one tag, a list, weak or strong, ``*``.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from fastapi.testclient import TestClient
from web_support import Seeder, admin_headers

# every route whose body is a function of the event's data version and freeze state
CACHED = ["/api/v1/leaderboard", "/api/v1/leaderboard.csv", "/", "/api/v1/pareto"]


@pytest.mark.parametrize("path", CACHED)
def test_a_cached_route_answers_304_until_the_board_changes(
    client: TestClient, seed: Seeder, path: str
) -> None:
    seed(teams=2, per_team=1)
    first = client.get(path)
    assert first.status_code == 200 and first.content
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "no-cache"
    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag and again.headers["cache-control"] == "no-cache"
    seed(teams=1, per_team=1, seed=2, team_prefix="late")
    changed = client.get(path, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag and "late-0" in changed.text


@pytest.mark.parametrize("path", CACHED)
def test_if_none_match_in_list_weak_strong_and_star_forms(client: TestClient, seed: Seeder, path: str) -> None:
    seed(teams=2, per_team=1)
    etag = client.get(path).headers["etag"]
    assert etag.startswith('W/"')
    strong = etag[2:]  # weak comparison: W/"x" and "x" match
    for header in (etag, strong, f'"other", {etag}', f'W/"a,b", {strong} ,"c"', "*", f"  {etag}  "):
        assert client.get(path, headers={"If-None-Match": header}).status_code == 304, header
    for header in ('"other"', 'W/"other", "more"', strong[:-2] + '"', "", "W/", etag.replace('"', "")):
        assert client.get(path, headers={"If-None-Match": header}).status_code == 200, header


def test_the_csv_keeps_its_download_name_and_the_page_its_type(client: TestClient, seed: Seeder) -> None:
    seed(teams=2, per_team=1)
    csv = client.get("/api/v1/leaderboard.csv")
    assert csv.headers["content-type"] == "text/csv; charset=utf-8"
    assert csv.headers["content-disposition"] == 'attachment; filename="leaderboard-live.csv"'
    assert client.get("/").headers["content-type"] == "text/html; charset=utf-8"


def test_an_admin_page_and_a_visitor_page_do_not_share_an_etag(client: TestClient, seed: Seeder) -> None:
    seed(teams=2, per_team=1)
    visitor = client.get("/").headers["etag"]
    admin = client.get("/", headers=admin_headers())
    assert admin.status_code == 200 and admin.headers["etag"] != visitor
    assert client.get("/", headers={**admin_headers(), "If-None-Match": visitor}).status_code == 200


def test_the_etag_is_the_same_in_every_worker_process() -> None:
    """``greenhack serve --workers N`` runs N processes behind one address: a tag from one must match in another,
    so it may not depend on the process (Python's ``hash`` of bytes is salted per process)."""
    probe = (
        "from greenhack.web.context import ResponseCache, EventState\n"
        "cache = ResponseCache(ttl_s=60, read_state=lambda: EventState(7, None, None))\n"
        "print(cache.get('k', lambda version: b'the same body').etag)\n"
    )
    tags = {
        subprocess.run(
            [sys.executable, "-c", probe],
            env={"PYTHONHASHSEED": str(seed), "PYTHONPATH": ":".join(sys.path)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for seed in (1, 2, 3)
    }
    assert len(tags) == 1, tags


def test_if_none_match_parsing() -> None:
    from greenhack.web.caching import if_none_match_matches

    tag = 'W/"3-ab"'
    assert if_none_match_matches('"3-ab"', tag) and if_none_match_matches('W/"3-ab"', '"3-ab"')
    assert if_none_match_matches('"x",W/"3-ab"', tag) and if_none_match_matches("*", tag)
    assert not if_none_match_matches(None, tag) and not if_none_match_matches('"3-a"', tag)
    assert not if_none_match_matches('"3-ab', tag) and not if_none_match_matches("3-ab", tag)


def test_the_data_version_is_read_at_most_once_per_ttl_and_at_once_after_a_local_write() -> None:
    from greenhack.web.context import EventState, ResponseCache

    now_s, version, reads, renders = [100.0], [1], [], []

    def read_state() -> EventState:
        reads.append(now_s[0])
        return EventState(data_version=version[0], frozen_override=None, frozen_at=None)

    def render(data_version: int) -> bytes:
        renders.append(data_version)
        return f"board {data_version}".encode()

    cache = ResponseCache(ttl_s=1.0, read_state=read_state, monotonic=lambda: now_s[0])
    assert cache.get("k", render).body == b"board 1"
    version[0] = 2  # another process wrote
    now_s[0] += 0.5
    assert cache.get("k", render).body == b"board 1" and len(reads) == 1  # within the TTL: not read again
    now_s[0] += 0.5
    assert cache.get("k", render).body == b"board 2" and len(reads) == 2
    version[0] = 3
    cache.invalidate()  # a write through this app (admin actions)
    assert cache.get("k", render).body == b"board 3"
    assert renders == [1, 2, 3]
