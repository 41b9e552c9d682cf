#!/usr/bin/env bash
# Installs the platform and the real services (PostgreSQL, Kafka, FerretDB, ClickHouse,
# Redis), starts the services on loopback, and runs every test. Arguments go to pytest.
# The services are stopped afterwards unless TANQORY_KEEP_SERVICES=1.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export TANQORY_PYTHON="$PWD/.venv/bin/python"
if [ "${TANQORY_KEEP_SERVICES:-0}" != "1" ]; then
  trap 'bash scripts/services.sh down || true' EXIT
fi
.venv/bin/ruff check .
.venv/bin/mypy schemas commands streams projections read_api runtime tanqory bench
bash scripts/services.sh up
eval "$(bash scripts/services.sh env)"
.venv/bin/python -m pytest "$@"
