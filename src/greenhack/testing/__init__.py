"""Test doubles that the tests, the benches and rehearsals share (stdlib only; nothing here runs in production)."""

from __future__ import annotations

__all__: list[str] = []
