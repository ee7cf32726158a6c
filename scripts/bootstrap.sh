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

# One line per step, so a first run (about a minute) never looks stuck; pip itself stays quiet.
step() { echo "bootstrap: $*"; }

wanted=("$@")
# Debian's Python makes virtual environments only with python3-venv installed.
"$PYTHON" -c "import ensurepip" 2>/dev/null || wanted+=(python3-venv)

step "checking Debian packages (${wanted[*]:-none needed})"
missing=()
for pkg in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    step "installing Debian packages: ${missing[*]}"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends \
        "${missing[@]}"
fi

if [ -x .venv/bin/python ]; then
    step "using the virtual environment in .venv"
else
    step "creating a virtual environment in .venv ($("$PYTHON" --version))"
    "$PYTHON" -m venv .venv
fi
step "updating pip"
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
step "installing streampanel${extra:+ with the $extra extras} and its dependencies into .venv"
.venv/bin/python -m pip install -q -e ".${extra:+[$extra]}"
step "ready (.venv/bin/streampanel)"
