"""BoaviztAPI's CPU and GPU names shipped for offline checks (check-config) are what a live BoaviztAPI lists,
and the offline matcher answers as its ``/v1/utils/name_to_cpu`` / ``name_to_gpu`` do."""

from __future__ import annotations

import pytest

from greenhack.errors import HardwareNameError
from greenhack.impacts import BoaviztaClient
from greenhack.impacts.names import SHIPPED_NAMES_VERSION, offline_matcher, resolve_name, shipped_names

# names as organisers write them: exact, sloppy, wrong model number, unknown vendor, the suite's own
PROBES = {
    "CPU": [
        "Intel Xeon Gold 6248",
        "intel xeon gold 6248",
        "Xeon Gold 6248",
        "Intel Xeon Gold 9999",
        "AMD EPYC 7763",
        "AMD EPYC 7763 64-Core Processor",
        "Intel(R) Xeon(R) Platinum 8380 CPU @ 2.30GHz",
        "Apple M2 Max",
        "Qualcomm Snapdragon",
    ],
    "GPU": ["NVIDIA A100 80GB", "NVIDIA A100 SXM4 80GB", "NVIDIA H100", "nvidia rtx a4500", "Radeon Instinct MI999"],
}


def test_shipped_names_are_the_live_servers(boavizta_url: str) -> None:
    with BoaviztaClient(boavizta_url) as client:
        assert client.version() == SHIPPED_NAMES_VERSION
        assert shipped_names("CPU") == client.cpu_names()
        assert shipped_names("GPU") == client.gpu_names()


@pytest.mark.parametrize(("kind", "name"), [(k, n) for k, names in PROBES.items() for n in names])
def test_offline_matcher_answers_as_the_live_one(boavizta_url: str, kind: str, name: str) -> None:
    with BoaviztaClient(boavizta_url) as client:
        live = client.cpu_match(name) if kind == "CPU" else client.gpu_match(name)
    assert offline_matcher(kind)(name) == live


def test_one_verdict_on_a_name() -> None:
    cpu = offline_matcher("CPU")
    assert resolve_name("Intel Xeon Gold 6248", cpu, lambda: shipped_names("CPU"), kind="CPU", key="k",
                        version="2.5.0") == "Intel Xeon Gold 6248"
    with pytest.raises(HardwareNameError, match="is another model"):
        resolve_name("Intel Xeon Gold 9999", cpu, lambda: shipped_names("CPU"), kind="CPU", key="k", version="2.5.0")
