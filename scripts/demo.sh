#!/usr/bin/env bash
# The first command: a fresh Debian machine with Python 3.11 to a running streampanel with the
# demo account (SQLite in ~/.local/share/streampanel, demo data from the real ingestion paths).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh ""
echo "demo: starting streampanel serve --demo (the first start builds the demo data)"
exec .venv/bin/streampanel serve --demo "$@"
