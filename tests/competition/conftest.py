"""Fixtures of this folder; they live in competition_support.py, which tests import by that unique name."""

from competition_support import config  # noqa: F401  (re-exported so pytest registers the fixture)
