"""A real BoaviztAPI 2.5.0 answers impact requests; it restarts on the same URL; misconfiguration is reported."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from greenhack.errors import ServiceError
from greenhack.services.boavizta import BoaviztaServer, find_boavizta_python

SERVER = {
    "model": {"type": "rack"},
    "configuration": {
        "cpu": {"units": 2, "name": "intel xeon gold 6134"},
        "ram": [{"units": 4, "capacity": 32}],
    },
}


def server_impacts(url: str, usage: dict[str, Any], duration_h: float) -> dict[str, Any]:
    response = httpx.post(
        f"{url}/v1/server/",
        params={"verbose": "false", "duration": duration_h},
        json={**SERVER, "usage": usage},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    impacts: dict[str, Any] = response.json()["impacts"]
    return impacts


def test_version(boavizta_url: str) -> None:
    assert httpx.get(f"{boavizta_url}/v1/utils/version", timeout=10).json() == "2.5.0"


def test_use_impact_is_factor_times_energy(boavizta_url: str) -> None:
    # 300 W for 2 h at 0.5 kgCO2e/kWh = 0.3 kgCO2e; with France's factor (0.098) = 0.0588 kgCO2e
    given = server_impacts(
        boavizta_url, {"avg_power": 300, "use_time_ratio": 1, "elec_factors": {"gwp": 0.5}}, duration_h=2
    )
    assert given["gwp"]["unit"] == "kgCO2eq"
    assert given["gwp"]["use"]["value"] == pytest.approx(0.3, rel=1e-9)
    france = server_impacts(
        boavizta_url, {"avg_power": 300, "use_time_ratio": 1, "usage_location": "FRA"}, duration_h=2
    )
    assert france["gwp"]["use"]["value"] == pytest.approx(0.098 * 0.3 * 2, rel=1e-9)
    assert france["gwp"]["embedded"]["value"] > 0
    assert set(france) == {"gwp", "adp", "pe"}


def test_restart_answers_again_on_the_same_url(boavizta_server: BoaviztaServer) -> None:
    url = boavizta_server.url
    boavizta_server.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/v1/utils/version", timeout=2)
    boavizta_server.start()
    assert boavizta_server.url == url
    assert httpx.get(f"{url}/v1/utils/version", timeout=10).status_code == 200


def test_a_python_without_boaviztapi_fails_with_its_log(tmp_path: Path) -> None:
    server = BoaviztaServer(python=Path(sys.executable), workdir=tmp_path)
    with pytest.raises(ServiceError) as info:
        server.start()
    assert "BoaviztAPI exited with status" in str(info.value)
    assert "boaviztapi" in str(info.value).split("log:", 1)[1]


def test_find_reports_a_wrong_environment_variable(tmp_path: Path) -> None:
    with pytest.raises(ServiceError, match="not an executable file"):
        find_boavizta_python({"GREENHACK_BOAVIZTA_PYTHON": str(tmp_path / "python")})
    with pytest.raises(ServiceError, match="cannot import boaviztapi"):
        find_boavizta_python({"GREENHACK_BOAVIZTA_PYTHON": sys.executable})


def test_find_locates_the_projects_virtualenv_from_anywhere(tmp_path: Path) -> None:
    found = find_boavizta_python({}, cwd=tmp_path)
    assert found is not None and found.parts[-3:] == (".venv-boavizta", "bin", "python")
