"""The organisers' guide and the GPU server guide refer only to commands and files that exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from greenhack.cli import app

REPO = Path(__file__).resolve().parents[2]
GUIDES = [REPO / "docs" / "organisers.md", REPO / "runners" / "README.md"]
# verbs other parts of the project are adding now; once registered they are checked like the others
PLANNED_VERBS = {"serve", "worker", "db", "provision", "evaluate", "demo"}


def _registered() -> set[str]:
    result = CliRunner().invoke(app, ["--help"], terminal_width=200)
    return set(re.findall(r"^│ ([a-z][a-z-]+) ", result.output, re.MULTILINE))


@pytest.mark.parametrize("guide", GUIDES, ids=lambda p: p.name)
def test_greenhack_commands_in_guides_exist(guide: Path) -> None:
    text = guide.read_text()
    registered = _registered()
    # commands typed in code blocks (`$ greenhack ...`) or inline code (`greenhack ...`)
    uses = re.findall(r"(?:^\$ |`)greenhack ([a-z][a-z-]+)(?: ([a-z][a-z-]+))?", text, re.MULTILINE)
    assert uses, "the guide shows no greenhack command"
    for verb, sub in uses:
        if verb not in registered:
            assert verb in PLANNED_VERBS, f"{guide.name}: `greenhack {verb}` is not a command"
            continue
        if verb == "deploy":
            result = CliRunner().invoke(app, ["deploy", sub, "--help"])
            assert result.exit_code == 0, f"{guide.name}: `greenhack deploy {sub}` is not a command"


@pytest.mark.parametrize("guide", GUIDES, ids=lambda p: p.name)
def test_repository_paths_in_guides_exist(guide: Path) -> None:
    text = guide.read_text()
    paths = set(re.findall(r"(?<![\w/.-])((?:runners|deploy|examples|docs)/[\w./@*-]+)", text))
    assert paths
    for path in paths:
        path = path.rstrip(".")
        if "*" in path:
            assert list(REPO.glob(path)), path
        elif path.startswith("deploy/prometheus/") or path == "deploy/prometheus":
            assert (REPO / "deploy" / "prometheus").is_dir()
        else:
            assert (REPO / path).exists(), f"{guide.name} names {path}, which does not exist"


def test_deploy_options_in_guides_exist() -> None:
    text = "\n".join(g.read_text() for g in GUIDES)
    help_text = CliRunner().invoke(app, ["deploy", "prometheus-config", "--help"], terminal_width=200).output
    for option in set(re.findall(r"greenhack deploy prometheus-config((?: --?[a-z-]+(?: \S+)?| \\\n\s+)+)", text)):
        for flag in re.findall(r"--[a-z-]+", option):
            assert flag in help_text, flag
