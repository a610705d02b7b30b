"""The autouse cleaner hides the developer's GREENHACK_* settings from every test, but not the BoaviztAPI path."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="module")
def developer_settings() -> Iterator[None]:
    # module scope: set before the function-scoped autouse cleaner runs, as a developer's shell would
    saved = {k: os.environ.get(k) for k in ("GREENHACK_DATABASE_URL", "GREENHACK_BOAVIZTA_PYTHON")}
    os.environ["GREENHACK_DATABASE_URL"] = "postgresql://someone@prod/greenhack"
    os.environ["GREENHACK_BOAVIZTA_PYTHON"] = saved["GREENHACK_BOAVIZTA_PYTHON"] or "/opt/boavizta/bin/python"
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.mark.usefixtures("developer_settings")
def test_greenhack_settings_are_removed_except_the_boavizta_python() -> None:
    assert "GREENHACK_DATABASE_URL" not in os.environ
    assert "GREENHACK_BOAVIZTA_PYTHON" in os.environ
