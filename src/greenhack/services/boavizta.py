"""A real BoaviztAPI server on a free loopback port, run from its own virtualenv.

BoaviztAPI pins FastAPI and pydantic versions that clash with greenhack's, so scripts/setup.sh installs it into
``.venv-boavizta``; :func:`find_boavizta_python` finds that interpreter and :class:`BoaviztaServer` runs
``python -m uvicorn boaviztapi.main:app`` with it. The server needs a few seconds to load its data before
``GET /v1/utils/version`` answers.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from importlib.util import find_spec
from pathlib import Path

from greenhack.errors import ServiceError
from greenhack.services._process import ManagedProcess
from greenhack.services._server import LocalServer
from greenhack.services.ports import free_port

__all__ = ["BOAVIZTA_PYTHON_ENV", "BoaviztaServer", "find_boavizta_python"]

# Environment variable naming the Python interpreter that has boaviztapi installed.
BOAVIZTA_PYTHON_ENV = "GREENHACK_BOAVIZTA_PYTHON"
_VENV_PYTHON = Path(".venv-boavizta") / "bin" / "python"
_INSTALL_HINT = "run scripts/setup.sh (it installs boaviztapi into .venv-boavizta)"


def _imports_boaviztapi(python: Path) -> bool:
    probe = "import importlib.util, sys; sys.exit(importlib.util.find_spec('boaviztapi') is None)"
    try:
        return (
            subprocess.run(
                [str(python), "-c", probe], check=False, capture_output=True, timeout=30
            ).returncode
            == 0
        )
    except (OSError, subprocess.TimeoutExpired):
        return False


def _candidate_roots(start: Path) -> list[Path]:
    package_root = Path(__file__).resolve().parents[3]  # src/greenhack/services/ -> repository root
    roots = [start.resolve(), *start.resolve().parents, package_root]
    return list(dict.fromkeys(roots))


def find_boavizta_python(env: Mapping[str, str] | None = None, cwd: Path | None = None) -> Path | None:
    """Find a Python interpreter that can run BoaviztAPI.

    In order: the interpreter named by ``GREENHACK_BOAVIZTA_PYTHON``; ``.venv-boavizta/bin/python`` in the
    working directory, one of its parents, or the repository this package lives in; the current interpreter if
    it can import ``boaviztapi``.

    Args:
        env: the environment to read (``os.environ`` when None).
        cwd: where to start looking for ``.venv-boavizta`` (the working directory when None).

    Returns:
        The interpreter's path, or None when BoaviztAPI is not installed anywhere we look.

    Raises:
        ServiceError: ``GREENHACK_BOAVIZTA_PYTHON`` is set but names no interpreter that imports boaviztapi
            (a misconfiguration is reported, never silently replaced).
    """
    environ = os.environ if env is None else env
    named = environ.get(BOAVIZTA_PYTHON_ENV, "").strip()
    if named:
        python = Path(named)
        if not python.is_file() or not os.access(python, os.X_OK):
            raise ServiceError(f"{BOAVIZTA_PYTHON_ENV}={named} is not an executable file; {_INSTALL_HINT}")
        if not _imports_boaviztapi(python):
            raise ServiceError(f"{BOAVIZTA_PYTHON_ENV}={named} cannot import boaviztapi; {_INSTALL_HINT}")
        return python
    for root in _candidate_roots(Path.cwd() if cwd is None else cwd):
        python = root / _VENV_PYTHON
        if python.is_file() and os.access(python, os.X_OK) and _imports_boaviztapi(python):
            return python
    if find_spec("boaviztapi") is not None:
        return Path(sys.executable)
    return None


class BoaviztaServer(LocalServer):
    """BoaviztAPI served by uvicorn on ``127.0.0.1``, its log in ``workdir``.

    Args:
        python: interpreter with boaviztapi installed; :func:`find_boavizta_python` when None.
        workdir: working directory and log folder; a temporary folder (removed by :meth:`close`) when None.
        port: the port to listen on; a free one when None.
        startup_timeout_s: seconds to wait for ``GET /v1/utils/version``.

    Raises:
        ServiceError: no interpreter with boaviztapi was found.
    """

    ready_path = "/v1/utils/version"

    def __init__(
        self,
        *,
        python: Path | None = None,
        workdir: Path | None = None,
        port: int | None = None,
        startup_timeout_s: float = 60.0,
    ) -> None:
        found = python if python is not None else find_boavizta_python()
        if found is None:
            raise ServiceError(f"BoaviztAPI is not installed: {_INSTALL_HINT}, or set {BOAVIZTA_PYTHON_ENV}")
        self.python = found
        self._owns_workdir = workdir is None
        # absolute: the process runs inside workdir, where a relative path would point one level too deep
        self.workdir = (
            Path(tempfile.mkdtemp(prefix="greenhack-boavizta-")) if workdir is None else workdir.resolve()
        )
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._fixed_port = port is not None
        self.port = port if port is not None else free_port()
        self.startup_timeout_s = startup_timeout_s
        # greenhack's own settings mean nothing to BoaviztAPI; keep them out of its environment
        env = {k: v for k, v in os.environ.items() if not k.startswith("GREENHACK_")}
        self._process = ManagedProcess("BoaviztAPI", self.workdir / "boavizta.log", cwd=self.workdir, env=env)
        # seconds from launch to the first answer of /v1/utils/version, for each start
        self.start_durations_s: list[float] = []

    def _argv(self) -> list[str]:
        return [
            str(self.python),
            "-m",
            "uvicorn",
            "boaviztapi.main:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--no-access-log",
        ]
