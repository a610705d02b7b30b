#!/usr/bin/env bash
# Idempotent set-up: system packages (when missing), the project's virtualenv (.venv) and BoaviztAPI's own
# virtualenv (.venv-boavizta: its pins on fastapi/pydantic clash with ours, so it runs as a separate server).
#   scripts/setup.sh            what the demo needs
#   scripts/setup.sh --test     plus what the tests need (Prometheus, Chromium, VictoriaMetrics, ...)
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

PYTHON=${PYTHON:-python3}
BOAVIZTAPI_VERSION=2.5.0

log() { printf '\033[1;32m==>\033[0m %s\n' "$*" >&2; }

# --- system packages -------------------------------------------------------------------------------------
apt_install() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if ! command -v apt-get >/dev/null; then
        log "cannot install ${missing[*]}: no apt-get here; install them with your package manager"
        return 1
    fi
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    log "installing system packages: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

if [ $want_test -eq 1 ]; then
    # prometheus: the real server and promtool (backfill); chromium: browser tests;
    # victoria-metrics: the long-term store the collector must also work against; rsync: gitlab-ci-local
    apt_install prometheus chromium chromium-driver victoria-metrics rsync
    # shellcheck: tests/deploy lints runners/setup.sh and runners/register.sh
    apt_install shellcheck
fi

# --- gitlab-ci-local: runs ci-templates/ in shell mode in the tests (Node 20; needs rsync) -----------------------
GITLAB_CI_LOCAL_VERSION=4.73.0
if [ $want_test -eq 1 ] && [ "$(.cache/npm/node_modules/.bin/gitlab-ci-local --version 2>/dev/null)" != "$GITLAB_CI_LOCAL_VERSION" ]; then
    if command -v npm >/dev/null; then
        log "installing gitlab-ci-local $GITLAB_CI_LOCAL_VERSION into .cache/npm"
        npm install --silent --no-audit --no-fund --prefix .cache/npm "gitlab-ci-local@$GITLAB_CI_LOCAL_VERSION" >/dev/null
    else
        log "cannot install gitlab-ci-local: no npm here (install Node.js 20 and npm)"
    fi
fi

# --- the project's virtualenv --------------------------------------------------------------------------------
extras="demo"
[ $want_test -eq 1 ] && extras="demo,test"
stamp=".venv/.greenhack-installed-$extras"
digest=$(cat pyproject.toml | sha256sum | cut -c1-16)
if [ ! -x .venv/bin/python ]; then
    log "creating .venv"
    "$PYTHON" -m venv .venv
fi
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
    log "installing greenhack[$extras] into .venv"
    .venv/bin/python -m pip install -q --upgrade pip >/dev/null
    .venv/bin/python -m pip install -q -e ".[$extras]"
    echo "$digest" > "$stamp"
fi

# --- BoaviztAPI in its own virtualenv --------------------------------------------------------------------------
if [ ! -x .venv-boavizta/bin/python ] || ! .venv-boavizta/bin/python -c "import boaviztapi" 2>/dev/null; then
    log "installing boaviztapi $BOAVIZTAPI_VERSION into .venv-boavizta"
    "$PYTHON" -m venv .venv-boavizta
    .venv-boavizta/bin/python -m pip install -q --upgrade pip >/dev/null
    .venv-boavizta/bin/python -m pip install -q "boaviztapi==$BOAVIZTAPI_VERSION" uvicorn
fi
