#!/usr/bin/env bash
# Installs every Debian package the build, the tests, the benchmarks and the local stack need.
# Idempotent: when everything is present it only asks dpkg and returns.
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build pkg-config git
  libboost1.81-dev libboost-json1.81-dev libhiredis-dev libspdlog-dev libfmt-dev
  libprimesieve-dev libssl-dev libgtest-dev libgmock-dev
  # lint
  clang-format clang-tidy shellcheck yamllint
  # local stack and black-box tests
  redis-server prometheus curl ca-certificates procps
  python3 python3-pytest python3-requests python3-redis python3-celery
  # benchmarks
  wrk nginx-light python3-fastapi python3-uvicorn
  # chart and pipeline tests (their npm tools come from scripts/install-tools.sh)
  unzip python3-yaml jq
)
# Node.js and npm usually ship with the machine (a newer build than Debian's); only when they
# are absent do Debian's packages stand in.
if ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

install_npm_tools() {
  bash "$(dirname "$0")/install-tools.sh"
}

if ((${#missing[@]} == 0)); then
  install_npm_tools
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "bootstrap: missing packages (${missing[*]}); run as root or install them with apt-get" >&2
  exit 1
fi

echo "bootstrap: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"

# Debian starts the packaged services on install; the project runs its own on loopback ports.
for svc in redis-server nginx prometheus; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
    systemctl stop "$svc" || true
  fi
done

install_npm_tools
