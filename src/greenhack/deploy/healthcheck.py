"""Container and systemd health checks: ``python -m greenhack.deploy.healthcheck web|worker``.

The images greenhack runs in have no curl or wget, so the checks are Python, using only what greenhack already
depends on. Exit status 0 = healthy, 1 = not (with one line on stderr saying why).

* ``web [URL]``: the board answers ``GET URL`` (default ``http://127.0.0.1:8000/healthz``) with a status below 500.
* ``worker``: what the worker needs to make progress answers: the database (``SELECT 1`` on
  ``GREENHACK_DATABASE_URL``) and Prometheus (``/-/ready`` on ``GREENHACK_PROMETHEUS_URL`` when set).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import httpx

__all__ = ["TIMEOUT_S", "check_database", "check_http", "main"]

TIMEOUT_S = 5.0


def check_http(url: str, *, timeout_s: float = TIMEOUT_S) -> str | None:
    """None when ``url`` answers below HTTP 500, else why not."""
    try:
        response = httpx.get(url, timeout=timeout_s, follow_redirects=False)
    except httpx.HTTPError as exc:
        return f"{url}: {type(exc).__name__}: {exc}"
    if response.status_code >= 500:
        return f"{url}: HTTP {response.status_code}"
    return None


def check_database(url: str) -> str | None:
    """None when ``SELECT 1`` succeeds on the database at ``url``, else why not."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import SQLAlchemyError

    from greenhack.settings import normalise_database_url

    engine = create_engine(normalise_database_url(url), pool_pre_ping=False)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        return f"database: {type(exc).__name__}: {str(exc).splitlines()[0]}"
    finally:
        engine.dispose()
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run one check and return the exit status."""
    from greenhack.settings import Settings

    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in ("web", "worker"):
        print("usage: python -m greenhack.deploy.healthcheck web [URL] | worker", file=sys.stderr)
        return 2
    problems: list[str] = []
    if args[0] == "web":
        problem = check_http(args[1] if len(args) > 1 else "http://127.0.0.1:8000/healthz")
        problems += [problem] if problem else []
    else:
        settings = Settings()
        problem = check_database(settings.database_url)
        problems += [problem] if problem else []
        if settings.prometheus_url:
            problem = check_http(settings.prometheus_url.rstrip("/") + "/-/ready")
            problems += [problem] if problem else []
    for problem in problems:
        print(f"unhealthy: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
