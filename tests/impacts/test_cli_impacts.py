"""greenhack impacts --config FILE --server NAME --energy-j J --duration-s S [--format json|table]"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from impacts_helpers import event_yaml
from typer.testing import CliRunner

from greenhack.cli import app
from greenhack.impacts.factors import FACTOR_CACHE_FILE
from greenhack.services.ports import free_port

ARGS = ["--server", "gpu-1", "--energy-j", "5400000", "--duration-s", "1800"]


def run(args: list[str], data_dir: Path, **env: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, args, env={"GREENHACK_DATA_DIR": str(data_dir), **env})
    return result.exit_code, result.stdout, result.stderr


def test_json_gives_every_criterion_with_units(tmp_path: Path, boavizta_url: str) -> None:
    config = event_yaml(tmp_path, boavizta_url)
    code, out, err = run(["impacts", "--config", str(config), *ARGS, "--format", "json"], tmp_path / "data")
    assert code == 0, err
    document = json.loads(out)
    assert document["criterion"] == "gwp" and document["server"] == "gpu-1"
    units = {name: block["unit"] for name, block in document["impacts"].items()}
    assert units == {"gwp": "kgCO2e", "adpe": "kgSbeq", "pe": "MJ", "energy": "kWh"}
    gwp = document["impacts"]["gwp"]
    assert gwp["total"] == pytest.approx(gwp["use"] + gwp["embodied"])
    assert gwp["min"] <= gwp["total"] <= gwp["max"]
    # 5.4 MJ x PUE 1.3 = 1.95 kWh at FRA's factor
    assert document["impacts"]["energy"]["total"] == pytest.approx(1.95)
    assert gwp["use"] == pytest.approx(1.95 * document["details"]["gwp"]["use_factor"]["value"] * 3.6e6)
    assert document["details"]["boavizta_version"] == "2.5.0"
    assert {e["key"] for e in document["equivalences"]} == {"car_km", "smartphone_charges", "laptop_hours"}
    assert (tmp_path / "data" / FACTOR_CACHE_FILE).is_file()


def test_table_prints_use_embodied_total_min_max(tmp_path: Path, boavizta_url: str) -> None:
    config = event_yaml(tmp_path, boavizta_url)
    code, out, err = run(["impacts", "--config", str(config), *ARGS], tmp_path / "data")
    assert code == 0, err
    for word in (
        "use",
        "embodied",
        "total",
        "min",
        "max",
        "kgCO2e",
        "kgSbeq",
        "MJ",
        "kWh",
        "BoaviztAPI 2.5.0",
    ):
        assert word in out
    # equivalences in everyday sizes (issue 18): 0.832 km reads as metres
    assert re.search(r"~ \d+ m by petrol car", out) and "NVIDIA A100 SXM4 80GB" in out


def test_unknown_gpu_exits_2_naming_the_key(tmp_path: Path, boavizta_url: str) -> None:
    config = event_yaml(tmp_path, boavizta_url, replace={"NVIDIA A100 80GB": "NVIDIA Quantum 9000"})
    code, out, err = run(["impacts", "--config", str(config), *ARGS], tmp_path / "data")
    assert code == 2 and out == ""
    assert "servers[0].hardware.gpu.name" in err and "NVIDIA Quantum 9000" in err and "Traceback" not in err


def test_boavizta_down_exits_3(tmp_path: Path, boavizta_url: str) -> None:
    config = event_yaml(tmp_path, boavizta_url)
    dead = f"http://127.0.0.1:{free_port()}"
    code, _, err = run(
        ["impacts", "--config", str(config), *ARGS], tmp_path / "data", GREENHACK_BOAVIZTA_URL=dead
    )
    assert code == 3 and "cannot be reached" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--server", "nope", "--energy-j", "1", "--duration-s", "1"], "no server 'nope'"),
        (["--server", "gpu-1", "--energy-j", "-1", "--duration-s", "1"], "--energy-j"),
        (["--server", "gpu-1", "--energy-j", "1", "--duration-s", "0"], "--duration-s"),
    ],
)
def test_bad_arguments_exit_2(tmp_path: Path, boavizta_url: str, args: list[str], message: str) -> None:
    config = event_yaml(tmp_path, boavizta_url)
    code, _, err = run(["impacts", "--config", str(config), *args], tmp_path / "data")
    assert code == 2 and message in err
