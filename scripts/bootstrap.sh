#!/usr/bin/env bash
# Shared set-up for scripts/demo.sh and scripts/test.sh: Debian packages when missing, then a
# virtual environment with streampanel installed.  Usage: bootstrap.sh EXTRA [debian pkgs…]
# (EXTRA is the pip extra to install, e.g. "test", or "" for none.)
set -euo pipefail
cd "$(dirname "$0")/.."

extra="$1"
shift

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null || PYTHON=python3

wanted=("$@")
# Debian's Python makes virtual environments only with python3-venv installed.
"$PYTHON" -c "import ensurepip" 2>/dev/null || wanted+=(python3-venv)

missing=()
for pkg in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "bootstrap: installing Debian packages: ${missing[*]}"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends \
        "${missing[@]}"
fi

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e ".${extra:+[$extra]}"
