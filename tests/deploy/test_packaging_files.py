"""docker-compose.yml, Dockerfile, .env.example, systemd units and the GPU server's files are valid and complete."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yml"
SECRET_NAMES = re.compile(r"(PASSWORD|TOKEN|SECRET)", re.IGNORECASE)


def _compose() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load(COMPOSE.read_text())  # type: ignore[no-any-return]


# --- docker compose ------------------------------------------------------------------------------------------------


def test_compose_services_have_healthchecks_volumes_and_env_file() -> None:
    compose = _compose()
    services = compose["services"]
    assert {"postgres", "prometheus", "boaviztapi", "web", "worker", "migrate"} <= set(services)
    assert services["postgres"]["image"] == "postgres:16"
    assert services["boaviztapi"]["image"].startswith("ghcr.io/boavizta/boaviztapi:")
    assert services["prometheus"]["image"].startswith("prom/prometheus:")
    for name, service in services.items():
        if name == "migrate":
            assert service["healthcheck"] == {"disable": True} and service["restart"] == "no"
            continue
        check = service.get("healthcheck", {})
        if name == "caddy":
            assert check["test"][0] == "CMD"
        assert check.get("test", [None])[0] == "CMD", f"{name} has no exec-form healthcheck"
    # healthchecks call tools present in each image
    assert services["postgres"]["healthcheck"]["test"][1] == "pg_isready"
    assert services["prometheus"]["healthcheck"]["test"][1] == "wget"  # busybox image
    assert services["boaviztapi"]["healthcheck"]["test"][1] == "python"  # python:slim image
    assert "5000" in services["boaviztapi"]["healthcheck"]["test"][-1]
    for name in ("web", "worker"):
        assert services[name]["healthcheck"]["test"][1:4] == ["python", "-m", "greenhack.deploy.healthcheck"]
        assert services[name]["env_file"] == ".env"
        assert any(v.endswith(":/etc/greenhack:ro") for v in services[name]["volumes"])
    # named volumes for every stateful service
    named = set(compose["volumes"])
    for name, mount in (("postgres", "/var/lib/postgresql/data"), ("prometheus", "/prometheus")):
        sources = {v.split(":")[0] for v in services[name]["volumes"] if v.split(":")[1] == mount}
        assert sources and sources <= named, name
    assert "./deploy/prometheus:/etc/prometheus:ro" in services["prometheus"]["volumes"]
    assert services["web"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["worker"]["depends_on"]["prometheus"]["condition"] == "service_healthy"


def test_compose_holds_no_secret_values() -> None:
    text = COMPOSE.read_text()
    for line in text.splitlines():
        key, sep, value = line.strip().partition(":")
        if sep and SECRET_NAMES.search(key) and value.strip():
            assert value.strip().startswith("${"), f"secret inline in docker-compose.yml: {line.strip()}"
    assert "${POSTGRES_PASSWORD:?" in text


def test_env_example_lists_every_variable_compose_needs() -> None:
    example = (REPO / ".env.example").read_text()
    defined = {
        line.split("=", 1)[0] for line in example.splitlines() if "=" in line and not line.startswith("#")
    }
    required = set(re.findall(r"\$\{([A-Z_]+):\?", COMPOSE.read_text()))
    assert required <= defined
    assert {"GREENHACK_GITLAB_TOKEN", "GREENHACK_WEBHOOK_SECRET", "GREENHACK_ADMIN_TOKEN"} <= defined
    assert ".env" in (REPO / ".gitignore").read_text().splitlines()
    assert ".env" in (REPO / ".dockerignore").read_text().splitlines()


def test_docker_compose_config_validates() -> None:
    docker = shutil.which("docker")
    probe = subprocess.run([docker, "compose", "version"], capture_output=True, text=True) if docker else None
    if probe is None or probe.returncode != 0:
        pytest.skip(
            "docker compose plugin not available here (`docker compose version` fails); "
            "the structural checks above still ran"
        )
    env = (REPO / ".env.example").read_text()
    run = subprocess.run(
        [docker, "compose", "--env-file", "-", "-f", str(COMPOSE), "config", "--quiet"],
        input=env,
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert run.returncode == 0, run.stderr


def test_dockerfile_is_multi_stage_slim_and_non_root() -> None:
    text = (REPO / "Dockerfile").read_text()
    stages = re.findall(r"^FROM (\S+)(?: AS (\S+))?", text, re.MULTILINE)
    assert len(stages) == 2 and all("-slim" in image for image, _ in stages)
    assert "COPY --from=build /opt/greenhack /opt/greenhack" in text
    user = re.findall(r"^USER (\S+)", text, re.MULTILINE)
    assert user and not user[-1].startswith(("0", "root"))
    # every path the build copies exists, and .dockerignore does not hide it
    ignored = {line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()}
    for source in re.findall(r"^COPY (?!--from)(.+) \S+$", text, re.MULTILINE):
        for path in source.split():
            assert (REPO / path).exists(), path
            assert path not in ignored, path


# --- systemd -------------------------------------------------------------------------------------------------------

UNITS = sorted(
    [*(REPO / "deploy" / "systemd").glob("*.service"), *(REPO / "runners" / "systemd").glob("*.service")]
)


@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_systemd_units_verify(unit: Path, tmp_path: Path) -> None:
    parser = configparser.ConfigParser(strict=True, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(unit.read_text())
    assert {"Unit", "Service", "Install"} <= set(parser.sections())
    exec_start = parser["Service"]["ExecStart"]
    assert exec_start.startswith("/")
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        return  # parsed above; systemd-analyze is not installed here
    # systemd-analyze also checks that the programs exist: point them at a stand-in that does
    stand_in = tmp_path / "bin-true"
    stand_in.write_text("#!/bin/sh\nexit 0\n")
    stand_in.chmod(0o755)
    text = re.sub(r"(Exec\w+=-?)(/\S+)", lambda m: m.group(1) + str(stand_in), unit.read_text())
    copy = tmp_path / unit.name
    copy.write_text(text)
    run = subprocess.run([analyze, "verify", str(copy)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert unit.name not in run.stderr, run.stderr  # no warning about the unit either (unknown keys, ...)


# --- the GPU server --------------------------------------------------------------------------------------------------


def test_runner_config_runs_one_gpu_job_at_a_time() -> None:
    config = tomllib.loads((REPO / "runners" / "config.toml").read_text())
    assert config["concurrent"] == 1
    [runner] = config["runners"]
    assert runner["executor"] == "docker" and runner["limit"] == 1 and runner["request_concurrency"] == 1
    assert runner["docker"]["gpus"] == "all" and runner["docker"]["privileged"] is False
    register = (REPO / "runners" / "register.sh").read_text()
    for flag in ("--run-untagged=false", "--locked=true", "--tag-list", "--docker-gpus all", "--limit 1"):
        assert flag in register


def test_exporter_compose_file() -> None:
    services = yaml.safe_load((REPO / "runners" / "docker-compose.yml").read_text())["services"]
    assert services["scaphandre"]["ports"] == ["8080:8080"]
    assert "/sys/class/powercap:/sys/class/powercap:ro" in services["scaphandre"]["volumes"]
    assert services["nvidia-gpu-exporter"]["ports"] == ["9835:9835"]
    assert services["dcgm-exporter"]["ports"] == ["9400:9400"]
    for name in ("nvidia-gpu-exporter", "dcgm-exporter"):
        [device] = services[name]["deploy"]["resources"]["reservations"]["devices"]
        assert device["driver"] == "nvidia" and "gpu" in device["capabilities"]


SHELL_SCRIPTS = [REPO / "runners" / "setup.sh", REPO / "runners" / "register.sh"]


@pytest.mark.parametrize("script", SHELL_SCRIPTS, ids=lambda p: p.name)
def test_shell_scripts_are_clean(script: Path) -> None:
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0
    shellcheck = shutil.which("shellcheck")
    assert shellcheck is not None, "shellcheck missing: scripts/setup.sh --test installs it"
    run = subprocess.run([shellcheck, str(script)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout


def _fake_server(
    tmp_path: Path,
    *,
    energy_uj: str = "123456789",
    smi: str = "0, GPU-abc, NVIDIA A100, 61.20",
    smi_status: int = 0,
) -> dict[str, str]:
    zone = tmp_path / "powercap" / "intel-rapl:0"
    zone.mkdir(parents=True)
    (zone / "energy_uj").write_text(energy_uj + "\n")
    (zone / "name").write_text("package-0\n")
    (tmp_path / "powercap" / "intel-rapl:0:0").mkdir()  # a sub-zone: not a package, skipped
    smi_path = tmp_path / "nvidia-smi"
    smi_path.write_text(f"#!/bin/sh\necho '{smi}'\nexit {smi_status}\n")
    smi_path.chmod(0o755)
    config = tmp_path / "config.toml"
    config.write_text(
        (REPO / "runners" / "config.toml")
        .read_text()
        .replace("REPLACE-WITH-RUNNER-AUTHENTICATION-TOKEN", "glrt-test")
    )
    return {
        "RAPL_DIR": str(tmp_path / "powercap"),
        "NVIDIA_SMI": str(smi_path),
        "RUNNER_CONFIG": str(config),
        "RAPL_SAMPLE_S": "0",
        "PATH": "/usr/bin:/bin",
    }


def _setup(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(REPO / "runners" / "setup.sh"), "--no-docker"],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
    )


def test_runner_setup_passes_on_a_ready_server(tmp_path: Path) -> None:
    run = _setup(_fake_server(tmp_path))
    assert run.returncode == 0, run.stdout
    assert "ok    RAPL package-0 readable" in run.stdout
    assert "ok    GPU 0: NVIDIA A100 GPU-abc, drawing 61.20 W" in run.stdout
    assert run.stdout.rstrip().endswith("all checks passed")


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ({"energy_uj": "not-a-number"}, "not a counter in microjoules"),
        (
            {
                "smi": "NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver",
                "smi_status": 9,
            },
            "nvidia-smi failed: NVIDIA-SMI has failed",
        ),
        ({"smi": "0, GPU-abc, NVIDIA T4, [N/A]"}, "reports no power.draw"),
    ],
)
def test_runner_setup_names_what_is_wrong(tmp_path: Path, fault: dict, message: str) -> None:  # type: ignore[type-arg]
    run = _setup(_fake_server(tmp_path, **fault))
    assert run.returncode == 1
    assert message in run.stdout
    assert "1 check(s) failed" in run.stdout


def test_runner_setup_refuses_missing_rapl_and_bad_runner_config(tmp_path: Path) -> None:
    env = _fake_server(tmp_path)
    env["RAPL_DIR"] = str(tmp_path / "nowhere")
    Path(env["RUNNER_CONFIG"]).write_text('concurrent = 4\n[[runners]]\n  executor = "shell"\n  limit = 1\n')
    run = _setup(env)
    assert run.returncode == 1
    assert "no RAPL package zone" in run.stdout and "modprobe intel_rapl_common" in run.stdout
    assert "runner: concurrent = 4, must be 1" in run.stdout
    assert "runner: executor = shell, must be docker" in run.stdout
    assert "runner: gpus = unset, must be all" in run.stdout


def _fake_tools(tmp_path: Path, *, installed: bool) -> dict[str, str]:
    """A dpkg-query that says whether prometheus-node-exporter is installed, and an apt-get that logs its call."""
    log = tmp_path / "apt.log"
    dpkg = tmp_path / "dpkg-query"
    status = "install ok installed" if installed else "unknown ok not-installed"
    dpkg.write_text(f"#!/bin/sh\nprintf '%s' '{status}'\n")
    apt = tmp_path / "apt-get"
    apt.write_text(f'#!/bin/sh\necho "$DEBIAN_FRONTEND $*" >> {log}\n')
    for tool in (dpkg, apt):
        tool.chmod(0o755)
    return {"DPKG_QUERY": str(dpkg), "APT_GET": str(apt)}


def test_runner_setup_installs_node_exporter_from_debian_when_missing(tmp_path: Path) -> None:
    env = {**_fake_server(tmp_path), **_fake_tools(tmp_path, installed=False)}
    run = subprocess.run(["bash", str(REPO / "runners" / "setup.sh"), "--no-docker", "--install"],
                         capture_output=True, text=True, env=env, timeout=30)
    assert run.returncode == 0, run.stdout
    assert (tmp_path / "apt.log").read_text() == "noninteractive install -y prometheus-node-exporter\n"
    assert "ok    node_exporter installed (Debian package prometheus-node-exporter" in run.stdout
    again = tmp_path / "again"
    again.mkdir()
    env = {**_fake_server(again), **_fake_tools(again, installed=True)}
    run = subprocess.run(["bash", str(REPO / "runners" / "setup.sh"), "--no-docker", "--install"],
                         capture_output=True, text=True, env=env, timeout=30)
    assert run.returncode == 0 and not (again / "apt.log").exists()


@pytest.mark.parametrize("synchronised", [True, False])
def test_runner_setup_checks_every_exporter_and_the_clock(tmp_path: Path, synchronised: bool) -> None:
    from greenhack.telemetry import NVIDIA_SMI, SCAPHANDRE  # noqa: PLC0415
    from greenhack.telemetry.simulator import (  # noqa: PLC0415
        ExporterSim,
        NodeExporterSim,
        PowerTrace,
        SimDevice,
        SimulatorServer,
    )

    trace = PowerTrace(150.0)
    sims = [
        ExporterSim(SCAPHANDRE, (SimDevice(trace),)),
        ExporterSim(NVIDIA_SMI, (SimDevice(trace, uuid="GPU-abc"),), with_counter=False),
        NodeExporterSim(clock_offset_s=0.01, synchronised=synchronised),
    ]
    servers = [SimulatorServer(sim) for sim in sims]
    try:
        ports = [server.address.rsplit(":", 1)[1] for server in servers]
        env = {**_fake_server(tmp_path), "SCAPHANDRE_PORT": ports[0], "GPU_EXPORTER_PORT": ports[1],
               "NODE_EXPORTER_PORT": ports[2]}
        run = subprocess.run(["bash", str(REPO / "runners" / "setup.sh"), "--no-docker", "--exporters"],
                             capture_output=True, text=True, env=env, timeout=60)
    finally:
        for server in servers:
            server.stop()
    assert f"ok    node_exporter on port {ports[2]} exposes node_time_seconds" in run.stdout
    if synchronised:
        assert run.returncode == 0, run.stdout
        assert "ok    the clock is synchronised by NTP" in run.stdout
    else:
        assert run.returncode == 1
        assert "FAIL  the clock is not synchronised" in run.stdout and "timedatectl set-ntp true" in run.stdout
