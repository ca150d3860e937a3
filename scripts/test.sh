#!/usr/bin/env bash
# Run the whole test suite (unit, integration on tansu + SQLite + PostgreSQL, end-to-end, ruff, mypy).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
exec .venv/bin/python -m pytest "$@"
