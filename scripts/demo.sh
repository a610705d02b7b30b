#!/usr/bin/env bash
# See greenhack work in one command: set up (idempotent), run a small Green AI event end to end, serve its board.
#
#   ./scripts/demo.sh              then open http://127.0.0.1:8000  (Ctrl-C stops everything)
#   ./scripts/demo.sh --no-serve   run the event, print the board, exit
#
# Time: the first run installs .venv and .venv-boavizta (a few minutes, mostly downloads); after that the set-up
# is a no-op and the event itself takes about a minute before the board is served. Extra arguments go to
# `greenhack demo` (see `.venv/bin/greenhack demo --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/greenhack demo "$@"
