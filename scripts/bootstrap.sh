#!/usr/bin/env bash
# Creates .venv (Python 3.11) and installs the platform with pinned versions.
# Fast when nothing changed: it reinstalls only when pyproject.toml or constraints.txt did.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${TANQORY_BOOTSTRAP_PYTHON:-}
if [ -z "$python" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      python=$candidate; break
    fi
  done
fi
if [ -z "$python" ]; then
  echo "bootstrap: Python 3.11 is required (set TANQORY_BOOTSTRAP_PYTHON to its path)" >&2
  exit 1
fi

if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
stamp=.venv/.tanqory-installed
wanted=$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -c constraints.txt -e ".[test]"
  echo "$wanted" > "$stamp"
fi
