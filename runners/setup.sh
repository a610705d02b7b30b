#!/usr/bin/env bash
# Check that a GPU server is ready to be measured by greenhack, and say what to fix when it is not.
#   sudo runners/setup.sh                    RAPL, nvidia-smi, Docker GPU access, runner config
#   sudo runners/setup.sh --exporters        also: Scaphandre (8080), the GPU exporter (9835/9400) and node_exporter
#                                            (9100: the server's clock, NTP-synchronised) answer
#   sudo runners/setup.sh --install          first install node_exporter (Debian package prometheus-node-exporter)
# Options (or environment variables, for tests and unusual hosts):
#   --rapl-dir DIR        powercap folder              (RAPL_DIR, default /sys/class/powercap)
#   --nvidia-smi CMD      nvidia-smi executable        (NVIDIA_SMI, default nvidia-smi)
#   --runner-config FILE  gitlab-runner config.toml    (RUNNER_CONFIG, default /etc/gitlab-runner/config.toml)
#   --gpu-port PORT       GPU exporter port            (GPU_EXPORTER_PORT, default 9835; dcgm-exporter: 9400)
#   --node-port PORT      node_exporter port           (NODE_EXPORTER_PORT, default 9100)
#   --no-docker           skip the Docker GPU check
# Exit status: 0 when every check passed, 1 when one failed, 2 on a usage error.
set -uo pipefail

RAPL_DIR=${RAPL_DIR:-/sys/class/powercap}
NVIDIA_SMI=${NVIDIA_SMI:-nvidia-smi}
RUNNER_CONFIG=${RUNNER_CONFIG:-/etc/gitlab-runner/config.toml}
GPU_EXPORTER_PORT=${GPU_EXPORTER_PORT:-9835}
SCAPHANDRE_PORT=${SCAPHANDRE_PORT:-8080}
NODE_EXPORTER_PORT=${NODE_EXPORTER_PORT:-9100}
RAPL_SAMPLE_S=${RAPL_SAMPLE_S:-1}
APT_GET=${APT_GET:-apt-get}
DPKG_QUERY=${DPKG_QUERY:-dpkg-query}
check_docker=1
check_exporters=0
install=0

while [ $# -gt 0 ]; do
    case "$1" in
        --rapl-dir) RAPL_DIR=${2:?--rapl-dir needs a folder}; shift 2 ;;
        --nvidia-smi) NVIDIA_SMI=${2:?--nvidia-smi needs a command}; shift 2 ;;
        --runner-config) RUNNER_CONFIG=${2:?--runner-config needs a file}; shift 2 ;;
        --gpu-port) GPU_EXPORTER_PORT=${2:?--gpu-port needs a port}; shift 2 ;;
        --node-port) NODE_EXPORTER_PORT=${2:?--node-port needs a port}; shift 2 ;;
        --no-docker) check_docker=0; shift ;;
        --exporters) check_exporters=1; shift ;;
        --install) install=1; shift ;;
        -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
        *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
    esac
done

failures=0
ok() { printf 'ok    %s\n' "$*"; }
fail() { printf 'FAIL  %s\n' "$*"; failures=$((failures + 1)); }
hint() { printf '      %s\n' "$*"; }

# --- RAPL: what Scaphandre reads for CPU and DRAM energy -------------------------------------------------------
check_rapl() {
    local zones=() zone first second
    for zone in "$RAPL_DIR"/intel-rapl:[0-9]*; do
        [ -e "$zone/energy_uj" ] && case "$zone" in *:*:*) ;; *) zones+=("$zone") ;; esac
    done
    if [ ${#zones[@]} -eq 0 ]; then
        fail "no RAPL package zone under $RAPL_DIR (intel-rapl:N/energy_uj)"
        hint "load the driver: modprobe intel_rapl_common (and add it to /etc/modules-load.d/);"
        hint "virtual machines rarely expose RAPL: measure on bare metal"
        return
    fi
    for zone in "${zones[@]}"; do
        if ! first=$(cat "$zone/energy_uj" 2>/dev/null); then
            fail "$zone/energy_uj is not readable by $(id -un)"
            hint "since Linux 5.10 it is readable by root only: run Scaphandre as root (runners/systemd, runners/docker-compose.yml)"
            continue
        fi
        if ! [[ $first =~ ^[0-9]+$ ]]; then
            fail "$zone/energy_uj holds '$first', not a counter in microjoules"
            continue
        fi
        if [ "$RAPL_SAMPLE_S" != "0" ]; then
            sleep "$RAPL_SAMPLE_S"
            second=$(cat "$zone/energy_uj" 2>/dev/null || echo "$first")
            if [ "$second" = "$first" ]; then
                fail "$zone/energy_uj did not change in ${RAPL_SAMPLE_S}s: RAPL is frozen or emulated"
                continue
            fi
        fi
        ok "RAPL $(cat "$zone/name" 2>/dev/null || basename "$zone") readable: $zone/energy_uj = $first uJ"
    done
}

# --- nvidia-smi: what nvidia_gpu_exporter runs, and the GPUs' UUIDs for the event YAML ---------------------------
check_nvidia_smi() {
    local out
    if ! command -v "$NVIDIA_SMI" >/dev/null 2>&1; then
        fail "$NVIDIA_SMI not found: install the NVIDIA driver (nvidia-smi comes with it)"
        return
    fi
    if ! out=$("$NVIDIA_SMI" --query-gpu=index,uuid,name,power.draw --format=csv,noheader,nounits 2>&1); then
        fail "$NVIDIA_SMI failed: $(printf '%s' "$out" | head -n 1)"
        hint "a driver/library version mismatch after an upgrade needs a reboot"
        return
    fi
    if [ -z "$out" ]; then
        fail "$NVIDIA_SMI lists no GPU"
        return
    fi
    while IFS=, read -r index uuid name power; do
        uuid=${uuid# }
        case "${power// /}" in
            ''|*N/A*|*Supported*) fail "GPU $index ($uuid) reports no power.draw: its energy cannot be measured" ;;
            *) ok "GPU $index:${name} ${uuid}, drawing${power} W" ;;
        esac
    done <<< "$out"
}

# --- Docker can give a container the GPUs (the runner's gpus = "all") --------------------------------------------
check_docker_gpus() {
    if ! command -v docker >/dev/null 2>&1; then
        fail "docker not found: the runner's docker executor needs Docker Engine"
        return
    fi
    if docker info --format '{{json .Runtimes}}' 2>/dev/null | grep -q nvidia; then
        ok "Docker has the nvidia runtime (NVIDIA Container Toolkit)"
    else
        fail "Docker has no nvidia runtime: install nvidia-container-toolkit, then nvidia-ctk runtime configure --runtime=docker && systemctl restart docker"
    fi
}

# --- gitlab-runner: one job at a time, GPUs to the job ----------------------------------------------------------
toml_value() {  # first "key = value" of a file, value unquoted
    sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*\"\{0,1\}\([^\"]*\)\"\{0,1\}[[:space:]]*\$/\1/p" "$2" | head -n 1
}

check_runner_config() {
    if [ ! -r "$RUNNER_CONFIG" ]; then
        fail "$RUNNER_CONFIG not readable: install gitlab-runner and register the runner (runners/README.md)"
        return
    fi
    expect() {  # key wanted message
        local value
        value=$(toml_value "$1" "$RUNNER_CONFIG")
        if [ "$value" = "$2" ]; then
            ok "runner: $1 = $2"
        else
            fail "runner: $1 = ${value:-unset}, must be $2 $3"
        fi
    }
    expect concurrent 1 "(one job on the server at a time)"
    expect limit 1 "(in [[runners]])"
    expect executor docker ""
    expect gpus all "(gpus = \"all\" in [runners.docker])"
    if [ "$(grep -c '^[[:space:]]*\[\[runners\]\]' "$RUNNER_CONFIG")" != "1" ]; then
        fail "runner: $RUNNER_CONFIG must hold exactly one [[runners]] (one measured server, one runner)"
    fi
    if grep -q 'REPLACE-WITH' "$RUNNER_CONFIG"; then
        fail "runner: $RUNNER_CONFIG still holds a REPLACE-WITH placeholder"
    fi
}

# --- exporters answer with the metrics greenhack reads --------------------------------------------------------
check_metric() {  # name port metric
    local body
    if ! body=$(curl -fsS --max-time 10 "http://127.0.0.1:$2/metrics" 2>&1); then
        fail "$1 on port $2 does not answer: $body"
        return
    fi
    if grep -q "^$3" <<< "$body"; then
        ok "$1 on port $2 exposes $3"
    else
        fail "$1 on port $2 answers but exposes no $3"
    fi
}

# --- node_exporter beside Scaphandre: the server's clock against Prometheus's, and its NTP health -----------------
install_node_exporter() {
    local status
    # shellcheck disable=SC2016  # ${Status} is dpkg-query's field, not the shell's
    status=$("$DPKG_QUERY" -W -f='${Status}' prometheus-node-exporter 2>/dev/null || true)
    if [ "$status" = "install ok installed" ]; then
        ok "node_exporter installed (Debian package prometheus-node-exporter)"
        return
    fi
    if DEBIAN_FRONTEND=noninteractive "$APT_GET" install -y prometheus-node-exporter; then
        ok "node_exporter installed (Debian package prometheus-node-exporter; its service listens on :9100)"
    else
        fail "could not install prometheus-node-exporter with $APT_GET (run apt-get update first?)"
    fi
}

check_clock() {
    local body
    if ! body=$(curl -fsS --max-time 10 "http://127.0.0.1:$NODE_EXPORTER_PORT/metrics" 2>&1); then
        fail "node_exporter on port $NODE_EXPORTER_PORT does not answer: $body"
        hint "install it: sudo runners/setup.sh --install (Debian package prometheus-node-exporter)"
        return
    fi
    if ! grep -q '^node_time_seconds ' <<< "$body"; then
        fail "node_exporter on port $NODE_EXPORTER_PORT answers but exposes no node_time_seconds (time collector off?)"
        return
    fi
    ok "node_exporter on port $NODE_EXPORTER_PORT exposes node_time_seconds"
    if grep -q '^node_timex_sync_status 1' <<< "$body"; then
        ok "the clock is synchronised by NTP (node_timex_sync_status 1)"
    else
        fail "the clock is not synchronised (node_timex_sync_status is not 1): job windows are stamped by this clock"
        hint "enable NTP: sudo timedatectl set-ntp true (systemd-timesyncd), or install chrony"
    fi
}

[ $install -eq 1 ] && install_node_exporter
check_rapl
check_nvidia_smi
[ $check_docker -eq 1 ] && check_docker_gpus
check_runner_config
if [ $check_exporters -eq 1 ]; then
    check_metric Scaphandre "$SCAPHANDRE_PORT" scaph_host_power_microwatts
    if [ "$GPU_EXPORTER_PORT" = "9400" ]; then
        check_metric dcgm-exporter "$GPU_EXPORTER_PORT" DCGM_FI_DEV_POWER_USAGE
    else
        check_metric nvidia_gpu_exporter "$GPU_EXPORTER_PORT" nvidia_smi_power_draw_watts
    fi
    check_clock
fi

if [ $failures -gt 0 ]; then
    echo "$failures check(s) failed"
    exit 1
fi
echo "all checks passed"
