#!/usr/bin/env bash
# Set up what the tests need (idempotent), then run them. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
export GREENHACK_BOAVIZTA_PYTHON="$PWD/.venv-boavizta/bin/python"
set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e
exit $rc
