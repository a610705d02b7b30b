"""Helpers of the impacts tests: servers, impact sections, plain BoaviztAPI calls, event YAML files."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from greenhack.config import ImpactSection, ServerConfig
from greenhack.impacts import BoaviztaClient

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def make_server(
    *,
    name: str = "gpu-1",
    cpu: str = "Intel Xeon Gold 6248",
    cpu_units: int = 2,
    ram_gb: float = 192,
    gpu: str | None = "NVIDIA A100 80GB",
    gpu_units: int = 1,
    lifetime_years: float = 5,
) -> ServerConfig:
    hardware: dict[str, Any] = {
        "cpu": {"name": cpu, "units": cpu_units},
        "ram_gb": ram_gb,
        "lifetime_years": lifetime_years,
    }
    if gpu is not None:
        hardware["gpu"] = {"name": gpu, "units": gpu_units}
    return ServerConfig.model_validate(
        {
            "name": name,
            "runner_tags": [f"tag-{name}"],
            "scaphandre": f'{{instance="{name}:8080"}}',
            "gpu": f'{{instance="{name}:9835"}}',
            "hardware": hardware,
        }
    )


def make_impact(**overrides: Any) -> ImpactSection:
    values: dict[str, Any] = {
        "criterion": "gwp",
        "include": ["use", "embodied"],
        "pue": 1.3,
        "location": "FRA",
    }
    values.update(overrides)
    return ImpactSection.model_validate(values)


@dataclass
class CountingClient:
    """A BoaviztaClient on the real server, with every HTTP request it sent recorded as (method, path)."""

    client: BoaviztaClient
    calls: list[tuple[str, str]] = field(default_factory=list)

    def posts(self) -> int:
        return sum(1 for method, _ in self.calls if method == "POST")


def direct_server(
    boavizta_url: str, body: dict[str, Any], *, duration_h: float, verbose: bool = False
) -> Any:
    """One plain BoaviztAPI answer (raw JSON), as a person calling it by hand would get it."""
    response = httpx.post(
        f"{boavizta_url}/v1/server/",
        params={"duration": duration_h, "verbose": "true" if verbose else "false"},
        json=body,
        timeout=30.0,
    )
    response.raise_for_status()
    return response.json()


def event_yaml(tmp_path: Path, boavizta_url: str, *, replace: dict[str, str] | None = None) -> Path:
    """The example event YAML, pointed at the test BoaviztAPI, with textual replacements."""
    text = (EXAMPLES / "event.yaml").read_text(encoding="utf-8")
    text = text.replace("http://127.0.0.1:5000", boavizta_url)
    for old, new in (replace or {}).items():
        assert old in text, old
        text = text.replace(old, new)
    (tmp_path / "secrets").mkdir(exist_ok=True)
    (tmp_path / "secrets" / "truth.csv").write_bytes((EXAMPLES / "secrets" / "truth.csv").read_bytes())
    path = tmp_path / "event.yaml"
    path.write_text(text, encoding="utf-8")
    return path
