"""Logging set-up, done once by the CLI (libraries only ever call ``logging.getLogger(__name__)``)."""

from __future__ import annotations

import logging
import sys

__all__ = ["setup_logging"]


def setup_logging(level: str = "INFO", *, json_lines: bool = False) -> None:
    """Log to stderr: human lines on a terminal, one ``key=value`` line per record for services."""
    handler = logging.StreamHandler(sys.stderr)
    if json_lines:
        fmt = "ts=%(asctime)s level=%(levelname)s logger=%(name)s msg=%(message)r"
    else:
        fmt = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
    handler.setFormatter(logging.Formatter(fmt, datefmt="%Y-%m-%dT%H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # third-party chatter stays at WARNING unless we debug
    for noisy in ("httpx", "httpcore", "urllib3", "alembic"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if level == "DEBUG" else logging.WARNING)
