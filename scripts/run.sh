#!/usr/bin/env bash
# Runs the whole platform in one process (embedded mode), with demo data.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/tanqory serve "$@"
