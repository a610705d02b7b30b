"""From an exporter's PromQL label selector (event YAML) to the scrape target that produces the series it matches.

The event YAML names each exporter with a selector such as ``{instance="gpu-1:8080"}``; greenhack's collector
appends it to every metric it queries. For the generated Prometheus configuration to feed those queries, every
series scraped from that exporter must match the selector. The rules, per matcher:

* ``instance="HOST:PORT"`` (required, equality, explicit port) is the address Prometheus scrapes. Prometheus sets
  the ``instance`` label to that address, so the matcher holds.
* A label the exporter itself puts on its series (Scaphandre's ``socket_id`` or ``value_source``,
  nvidia_gpu_exporter's ``uuid``, dcgm-exporter's ``gpu``/``UUID``/``GPU_I_ID``/``hostname``, ...) is a
  *filter* among that exporter's series (for example one GPU of several); the scrape config leaves it alone, since a target label of that name would rename the
  exporter's own label to ``exported_<name>``.
* Any other equality matcher (``server="gpu-1"``, ``job="gpu"``, ...) becomes a target label, so every series of
  the target carries it.
* Any other matcher (``!=``, ``=~``, ``!~``, or ``=""``) is checked against the target's final label set
  (``job``, ``instance`` and the added labels); a selector that the generated series would not satisfy is refused.

Refusals are :class:`~greenhack.errors.ConfigProblem` values naming the YAML key (``servers[0].gpu``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "EXPORTER_LABELS",
    "ExporterKind",
    "LabelMatcher",
    "SelectorProblem",
    "TargetSpec",
    "parse_matchers",
    "target_from_selector",
]

ExporterKind = Literal["scaphandre", "nvidia_smi", "dcgm", "node"]

# Labels each exporter puts on its own series, from the exporters' sources. Matchers on them select among the
# exporter's series; they are never turned into target labels.
EXPORTER_LABELS: dict[ExporterKind, frozenset[str]] = {
    # hubblo-org/scaphandre, src/exporters/mod.rs: value_source on the host series (powercap_rapl_psys when the
    # host counter is the PSYS domain, scaphandredrv_rapl_pkg from the Windows driver) and on the mmio counters,
    # socket_id, domain_name, domain_id (and rapl_domain_name on scaph_self_*), exe, pid, cmdline, vmname (--qemu);
    # src/sensors/utils.rs: the container_* and kubernetes_* labels (containers feature); src/sensors/mod.rs
    # get_disks: the disk_* labels
    "scaphandre": frozenset(
        {"value_source", "socket_id", "domain_name", "domain_id", "rapl_domain_name", "exe", "pid", "cmdline",
         "vmname", "container_id", "container_names", "container_runtime", "container_scheduler",
         "container_docker_version", "kubernetes_pod_name", "kubernetes_pod_namespace", "kubernetes_node_name",
         "disk_file_system", "disk_mount_point", "disk_type", "disk_is_removable", "disk_name"}
    ),
    # utkuozdemir/nvidia_gpu_exporter, internal/nvidiasmi/resolve.go infoFields (the gpu_info labels) plus
    # cuda_version, and internal/exporter/exporter.go: per-process (pid, process_name, gpu_instance_id,
    # compute_instance_id), MIG (mig_uuid, profile) and XID (xid) label sets
    "nvidia_smi": frozenset(
        {"uuid", "name", "driver_model_current", "driver_model_pending", "vbios_version", "driver_version",
         "pci_bus_id", "serial", "compute_cap", "pci_sub_device_id", "index", "cuda_version", "pid",
         "process_name", "gpu_instance_id", "compute_instance_id", "mig_uuid", "profile", "xid"}
    ),
    # NVIDIA/dcgm-exporter, internal/pkg/rendermetrics/render_metrics.go gpuMetricsFormat: gpu, UUID (uuid with
    # --use-old-namespace), pci_bus_id, device, modelName, GPU_I_PROFILE and GPU_I_ID (MIG), Hostname (releases up
    # to 4.5.3-4.8.2) or hostname (main branch); the label-type fields of etc/default-counters.csv (named after the
    # field); internal/pkg/transformation/const.go: the Kubernetes, vGPU, HPC-job and DRA attributes;
    # internal/pkg/collector: err_code/err_msg (XID), xid, health_*, clock_event, window_size_in_ms
    "dcgm": frozenset(
        {"gpu", "UUID", "uuid", "pci_bus_id", "device", "modelName", "GPU_I_PROFILE", "GPU_I_ID", "Hostname",
         "hostname", "DCGM_FI_DRIVER_VERSION", "DCGM_FI_NVML_VERSION", "DCGM_FI_DEV_BRAND", "DCGM_FI_DEV_SERIAL",
         "DCGM_FI_DEV_OEM_INFOROM_VER", "DCGM_FI_DEV_ECC_INFOROM_VER", "DCGM_FI_DEV_POWER_INFOROM_VER",
         "DCGM_FI_DEV_INFOROM_IMAGE_VER", "DCGM_FI_DEV_VBIOS_VERSION", "container", "namespace", "pod", "pod_uid",
         "container_name", "pod_name", "pod_namespace", "vgpu", "hpc_job", "dra_claim_name",
         "dra_claim_namespace", "dra_driver_name", "dra_pool_name", "dra_device_name", "dra_mig_profile",
         "dra_mig_device_uuid", "err_code", "err_msg", "xid", "health_watch", "health_error_code", "clock_event",
         "window_size_in_ms"}
    ),
    # node_exporter: its clock series (node_time_seconds, node_timex_*) carry no label of their own
    "node": frozenset(),
}

_MATCHER = re.compile(
    r"""\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)\s*(,|$)"""
)
_ESCAPES = {"\\": "\\", '"': '"', "'": "'", "n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b",
            "f": "\f", "v": "\v"}
_HOST_PORT = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):([0-9]{1,5})$")


class SelectorProblem(ValueError):
    """A selector that cannot be turned into a scrape target; the message says why and what to write instead."""


def _unquote(quoted: str) -> str:
    if quoted[0] == "`":
        return quoted[1:-1]
    body, out, i = quoted[1:-1], [], 0
    while i < len(body):
        char = body[i]
        if char != "\\":
            out.append(char)
            i += 1
            continue
        nxt = body[i + 1] if i + 1 < len(body) else ""
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i += 2
        elif nxt in ("x", "u", "U"):
            width = {"x": 2, "u": 4, "U": 8}[nxt]
            digits = body[i + 2 : i + 2 + width]
            if len(digits) != width or not all(c in "0123456789abcdefABCDEF" for c in digits):
                raise SelectorProblem(f"bad escape \\{nxt}{digits} in {quoted}")
            out.append(chr(int(digits, 16)))
            i += 2 + width
        else:
            raise SelectorProblem(f"unsupported escape \\{nxt} in {quoted}")
    return "".join(out)


@dataclass(frozen=True)
class LabelMatcher:
    """One PromQL label matcher, with its value unquoted."""

    name: str
    op: Literal["=", "!=", "=~", "!~"]
    value: str

    def matches(self, label_value: str) -> bool:
        """Prometheus semantics: a missing label has the value ``""``; regular expressions are fully anchored."""
        if self.op == "=":
            return label_value == self.value
        if self.op == "!=":
            return label_value != self.value
        found = re.fullmatch(self.value, label_value) is not None
        return found if self.op == "=~" else not found

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'{self.name}{self.op}"{escaped}"'


def parse_matchers(selector: str) -> list[LabelMatcher]:
    """Split a ``{a="x", b=~"y"}`` selector (as normalised by the event config) into matchers."""
    text = selector.strip()
    if not (text.startswith("{") and text.endswith("}")):
        raise SelectorProblem(f"{selector!r} is not a label selector such as {{instance=\"gpu-1:8080\"}}")
    body, pos, matchers = text[1:-1].strip(), 0, []
    while pos < len(body):
        match = _MATCHER.match(body, pos)
        if match is None:
            raise SelectorProblem(f"{selector!r}: cannot read a label matcher at character {pos + 2}")
        name, op, quoted, _ = match.groups()
        value = _unquote(quoted)
        if op in ("=~", "!~"):
            try:
                re.compile(value)
            except re.error as exc:
                raise SelectorProblem(f"{selector!r}: {name}{op}: not a regular expression ({exc})") from None
        matchers.append(LabelMatcher(name, op, value))  # type: ignore[arg-type]
        pos = match.end()
    return matchers


@dataclass(frozen=True)
class TargetSpec:
    """What Prometheus must scrape so that an exporter's series match its selector.

    Attributes:
        address: ``HOST:PORT`` scraped over HTTP at ``/metrics``; also the ``instance`` label.
        labels: target labels added to every series of the target (``job`` is set by the scrape job unless
            given here).
        filters: matchers on the exporter's own labels, left to the queries.
    """

    address: str
    labels: tuple[tuple[str, str], ...] = ()
    filters: tuple[LabelMatcher, ...] = field(default=())

    @property
    def target_selector(self) -> str:
        """A selector matching the target's ``up`` series (no exporter-label filters), given its job name."""
        parts = [f'instance="{self.address}"'] + [str(LabelMatcher(k, "=", v)) for k, v in self.labels]
        return "{" + ", ".join(parts) + "}"


def target_from_selector(selector: str, *, kind: ExporterKind, job_name: str) -> TargetSpec:
    """Derive the scrape target of one exporter from its selector, or raise :class:`SelectorProblem`.

    Args:
        selector: the PromQL label selector from the event YAML.
        kind: which exporter it names (decides which labels are the exporter's own).
        job_name: the scrape job the target would go in (the ``job`` label unless the selector sets one).
    """
    matchers = parse_matchers(selector)
    own = EXPORTER_LABELS[kind]
    instance = [m for m in matchers if m.name == "instance"]
    if len(instance) != 1 or instance[0].op != "=":
        raise SelectorProblem(
            f"{selector} does not say where to scrape: give exactly one instance=\"HOST:PORT\" equality matcher, "
            f'e.g. {{instance="gpu-1:{_DEFAULT_PORT[kind]}"}} (regular expressions and != cannot name a target)'
        )
    address = instance[0].value
    if not _HOST_PORT.match(address) or not 0 < int(address.rsplit(":", 1)[1]) < 65536:
        raise SelectorProblem(
            f"{selector}: instance {address!r} must be HOST:PORT with an explicit port "
            f"(the exporter's port is usually {_DEFAULT_PORT[kind]}); Prometheus names each target by that address"
        )
    labels: dict[str, str] = {}
    checks: list[LabelMatcher] = []
    filters: list[LabelMatcher] = []
    for matcher in matchers:
        if matcher.name == "instance":
            continue
        if matcher.name.startswith("__"):
            raise SelectorProblem(f"{selector}: {matcher.name} is a reserved label; it cannot select stored series")
        if matcher.name in own:
            filters.append(matcher)
        elif matcher.op == "=" and matcher.value != "":
            if matcher.name in labels and labels[matcher.name] != matcher.value:
                raise SelectorProblem(f"{selector}: label {matcher.name} is asked to equal two values")
            labels[matcher.name] = matcher.value
        else:
            checks.append(matcher)
    final = {"job": job_name, **labels, "instance": address}
    for matcher in checks:
        if not matcher.matches(final.get(matcher.name, "")):
            have = final.get(matcher.name)
            what = f"would be {have!r}" if have is not None else "would not be set"
            raise SelectorProblem(
                f"{selector}: {matcher} cannot hold for the scraped series: label {matcher.name} {what}; "
                f"use an equality matcher {matcher.name}=\"VALUE\" to have it added as a target label"
            )
    return TargetSpec(
        address=address,
        labels=tuple(sorted(labels.items())),
        filters=tuple(filters),
    )


_DEFAULT_PORT: dict[ExporterKind, int] = {"scaphandre": 8080, "nvidia_smi": 9835, "dcgm": 9400, "node": 9100}
