"""A selector matcher on a label the exporter puts on its own series filters among them; it never becomes a scrape
target label (which would rename the exporter's label to ``exported_<name>`` and filter nothing).

The samples are the exporters' own output, with their source:
"""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from greenhack.deploy.selectors import EXPORTER_LABELS, ExporterKind, target_from_selector

# hubblo-org/scaphandre @04cc6ec, src/exporters/mod.rs (gen_host_metrics, gen_socket_metrics, gen_domain metrics,
# gen_process_metrics; process metric names from src/sensors/mod.rs get_all_per_process, disks from get_disks) through
# src/exporters/utils.rs format_prometheus_metric: the host series with a PSYS domain,
# a socket, a RAPL domain, a process (with the containers feature and --qemu) and a disk
SCAPHANDRE_SAMPLE = """\
scaph_host_energy_microjoules{value_source="powercap_rapl_psys"} 1840245310291
scaph_host_power_microwatts{value_source="powercap_rapl_psys"} 40612000
scaph_socket_power_microwatts{socket_id="0"} 21345000
scaph_domain_energy_microjoules{domain_name="dram",domain_id="0",socket_id="0"} 91834512231
scaph_domain_rapl_mmio_energy_microjoules{domain_name="dram",domain_id="0",socket_id="0",value_source="powercap_rapl_mmio"} 1
scaph_self_domain_records_nb{socket_id="0",rapl_domain_name="dram"} 5
scaph_process_cpu_usage_percentage{exe="python3",pid="4242",cmdline="python3 train.py",vmname="vm1",container_id="c0ffee",container_names="job",container_runtime="containerd",container_scheduler="kubernetes",container_docker_version="24.0",kubernetes_node_name="gpu-1",kubernetes_pod_name="job-0",kubernetes_pod_namespace="ci"} 1000
scaph_host_disk_total_bytes{disk_file_system="ext4",disk_is_removable="false",disk_type="SSD",disk_mount_point="/",disk_name="nvme0n1"} 1
"""

# NVIDIA/dcgm-exporter @d5e5f51 (main: "Rename Hostname label to hostname"), internal/pkg/rendermetrics/
# render_metrics.go gpuMetricsFormat, for a MIG instance, with the label field of etc/default-counters.csv and the
# Kubernetes attributes of internal/pkg/transformation/const.go; the release line (4.5.3-4.8.2) writes Hostname
DCGM_SAMPLE = """\
DCGM_FI_DEV_POWER_USAGE{gpu="0",UUID="GPU-604ac76c-d9cf-fef3-62e9-d92044ab6e52",pci_bus_id="00000000:17:00.0",device="nvidia0",modelName="NVIDIA A100-SXM4-80GB",GPU_I_PROFILE="1g.10gb",GPU_I_ID="7",hostname="gpu-1",DCGM_FI_DRIVER_VERSION="550.54.15",container="trainer",namespace="ci",pod="job-0",pod_uid="1234",vgpu="0",hpc_job="17",pod_name="job-0",pod_namespace="ci",container_name="trainer"} 61.3
DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{gpu="0",UUID="GPU-604ac76c-d9cf-fef3-62e9-d92044ab6e52",pci_bus_id="00000000:17:00.0",device="nvidia0",modelName="NVIDIA A100-SXM4-80GB",Hostname="gpu-1"} 123456789
DCGM_FI_DEV_XID_ERRORS{gpu="0",UUID="GPU-604ac76c-d9cf-fef3-62e9-d92044ab6e52",pci_bus_id="00000000:17:00.0",device="nvidia0",modelName="NVIDIA A100-SXM4-80GB",err_code="0",err_msg="No Error"} 0
"""

# utkuozdemir/nvidia_gpu_exporter @e656cd8, internal/integration/testdata/
# linux-x86_64__nvidia-geforce-rtx-2080-super__595.71.05__idle.metrics (verbatim), then the per-process, MIG and XID
# label sets of internal/exporter/exporter.go
NVIDIA_SMI_SAMPLE = """\
nvidia_smi_gpu_info{compute_cap="7.5",cuda_version="13.2",driver_model_current="[N/A]",driver_model_pending="[N/A]",driver_version="595.71.05",index="0",name="NVIDIA GeForce RTX 2080 SUPER",pci_bus_id="00000000:0C:00.0",pci_sub_device_id="0x40051458",serial="[N/A]",uuid="00000000-0000-0000-0000-000000000000",vbios_version="90.04.7A.40.73"} 1
nvidia_smi_power_draw_watts{uuid="00000000-0000-0000-0000-000000000000"} 39.32
nvidia_smi_compute_app_used_memory_bytes{uuid="00000000-0000-0000-0000-000000000000",pid="4242",process_name="python3",gpu_instance_id="1",compute_instance_id="0"} 1
nvidia_smi_mig_info{uuid="00000000-0000-0000-0000-000000000000",mig_uuid="MIG-1",gpu_instance_id="1",compute_instance_id="0",profile="1g.10gb"} 1
nvidia_smi_xid_errors_total{uuid="00000000-0000-0000-0000-000000000000",xid="79"} 0
"""

SAMPLES: dict[ExporterKind, str] = {"scaphandre": SCAPHANDRE_SAMPLE, "dcgm": DCGM_SAMPLE, "nvidia_smi": NVIDIA_SMI_SAMPLE}
PORTS: dict[ExporterKind, int] = {"scaphandre": 8080, "dcgm": 9400, "nvidia_smi": 9835}


def _label_names(text: str) -> set[str]:
    return {name for family in text_string_to_metric_families(text) for s in family.samples for name in s.labels}


@pytest.mark.parametrize("kind", list(SAMPLES))
def test_every_label_of_the_exporters_own_output_is_known(kind: ExporterKind) -> None:
    missing = _label_names(SAMPLES[kind]) - EXPORTER_LABELS[kind]
    assert not missing, f"{kind} labels not in EXPORTER_LABELS: {sorted(missing)}"


@pytest.mark.parametrize(
    ("kind", "name", "value"),
    [
        ("scaphandre", "value_source", "powercap_rapl_psys"),
        ("scaphandre", "domain_id", "0"),
        ("dcgm", "GPU_I_ID", "7"),
        ("dcgm", "GPU_I_PROFILE", "1g.10gb"),
        ("dcgm", "hostname", "gpu-1"),
        ("nvidia_smi", "index", "0"),
        ("nvidia_smi", "serial", "1324"),
        ("nvidia_smi", "pci_bus_id", "00000000:0C:00.0"),
    ],
)
def test_a_matcher_on_an_exporter_label_is_a_filter(kind: ExporterKind, name: str, value: str) -> None:
    selector = f'{{instance="gpu-1:{PORTS[kind]}", {name}="{value}"}}'
    spec = target_from_selector(selector, kind=kind, job_name=kind)
    assert spec.labels == ()
    assert [(m.name, m.value) for m in spec.filters] == [(name, value)]
