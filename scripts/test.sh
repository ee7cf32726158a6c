#!/usr/bin/env bash
# The second command: set up everything the test suite needs (Debian packages when missing,
# the virtual environment with test extras) and run the whole suite, real components included,
# on SQLite and on a throwaway PostgreSQL.  Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
DEBIAN_PACKAGES=(
    postgresql php-cli php-curl nginx libnginx-mod-rtmp ffmpeg goaccess awscli perl chromium
    systemd
)
bash scripts/bootstrap.sh test "${DEBIAN_PACKAGES[@]}"
# The checks first: lint, formatting, types.
.venv/bin/ruff check src tests bench
.venv/bin/ruff format --check src tests bench
.venv/bin/mypy
exec .venv/bin/python -m pytest "$@"
