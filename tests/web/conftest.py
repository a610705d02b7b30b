"""Fixtures of this folder; they live in web_support.py, which tests import by that unique name (two folders' modules
both called conftest would shadow each other when test files import from them)."""

from web_support import *  # noqa: F403  (re-exported so pytest registers the fixtures)
