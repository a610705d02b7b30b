"""Run the CI templates with gitlab-ci-local (shell executor) on a throw-away team repository."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ROOT", "CiRun", "TeamRepo", "gitlab_ci_local"]

ROOT = Path(__file__).resolve().parents[2]
_BINARY = ROOT / ".cache" / "npm" / "node_modules" / ".bin" / "gitlab-ci-local"


def gitlab_ci_local() -> Path:
    """The project-local gitlab-ci-local; a clear failure (not a skip) when `scripts/setup.sh --test` was not run."""
    if not _BINARY.exists():
        raise AssertionError(f"{_BINARY.relative_to(ROOT)} is missing: run scripts/setup.sh --test")
    if shutil.which("rsync") is None:
        raise AssertionError("gitlab-ci-local needs rsync: run scripts/setup.sh --test")
    return _BINARY


@dataclass(frozen=True)
class CiRun:
    returncode: int
    output: str
    artifacts_dir: Path

    def artifact(self, job: str, path: str) -> Path:
        return self.artifacts_dir / job / path


class TeamRepo:
    """A git repository shaped like a team project of the event (origin on the event's GitLab group)."""

    def __init__(self, path: Path, *, project_path: str = "green-ai-hack-2026/team-a") -> None:
        self.path = path
        self.project_path = project_path
        path.mkdir(parents=True, exist_ok=True)
        self._git("init", "-q", "-b", "main")
        self._git("config", "user.email", "team@example.com")
        self._git("config", "user.name", "Team A")
        self._git("remote", "add", "origin", f"https://gitlab.example.org/{project_path}.git")

    def _git(self, *args: str) -> None:
        subprocess.run(["git", *args], cwd=self.path, check=True, capture_output=True)

    def write(self, relative: str, text: str) -> None:
        target = self.path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")

    def add_component(self) -> None:
        """Copy the component into the repository so gitlab-ci-local resolves it as a local component (GitLab
        itself would fetch it from the organisers' project)."""
        target = self.path / "templates"
        target.mkdir(exist_ok=True)
        shutil.copy(ROOT / "ci-templates" / "templates" / "submission.yml", target / "submission.yml")

    def commit(self) -> None:
        self._git("add", "-A")
        self._git("commit", "-q", "-m", "submission")

    def run(self, *, variables: dict[str, str], timeout_s: float = 120.0) -> CiRun:
        binary = gitlab_ci_local()
        home = self.path.parent / f"{self.path.name}-gcl-home"
        home.mkdir(exist_ok=True)
        command = [str(binary), "--home", str(home), "--no-color"]
        for key, value in variables.items():
            command += ["--variable", f"{key}={value}"]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CI_", "GITLAB_", "GREENHACK_"))}
        done = subprocess.run(
            command, cwd=self.path, capture_output=True, text=True, timeout=timeout_s, env=env, check=False
        )
        return CiRun(done.returncode, done.stdout + done.stderr, self.path / ".gitlab-ci-local" / "artifacts")
