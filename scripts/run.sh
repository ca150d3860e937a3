#!/usr/bin/env bash
# Run the whole service on the embedded default (SQLite + local tansu broker).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
exec .venv/bin/python -m devstack.run "$@"
