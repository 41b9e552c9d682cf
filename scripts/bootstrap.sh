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
  echo "bootstrap: creating .venv ($("$python" --version))"
  "$python" -m venv .venv
fi
stamp=.venv/.tanqory-installed
wanted=$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
  if [ -f "$stamp" ]; then
    echo "bootstrap: pyproject.toml or constraints.txt changed: installing pinned dependencies"
  else
    echo "bootstrap: installing pinned dependencies (about a minute the first time)"
  fi
  # setuptools warns on every editable install that a folder named like a package could
  # shadow it; the checkout is that folder, so the warning says nothing here.
  pip=(env PYTHONWARNINGS="ignore:Editable installation" .venv/bin/python -m pip install
       --quiet --disable-pip-version-check)
  "${pip[@]}" --upgrade pip
  "${pip[@]}" -c constraints.txt -e ".[test]"
  echo "$wanted" > "$stamp"
fi
