#!/usr/bin/env bash
# Installs every Debian package the build, the tests, the benchmarks, the image test and the local
# stack need, then the npm tools of the chart and pipeline tests (scripts/install-tools.sh).
# Idempotent: when everything is present it only asks dpkg and returns.
#
# Usage: scripts/bootstrap.sh [--build-only]
#   --build-only  only what compiling the binaries needs (the container image's build stage):
#                 no test, lint, benchmark or image tooling, no npm tools
set -euo pipefail

build_only=false
case ${1:-} in
  '') ;;
  --build-only) build_only=true ;;
  -h | --help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "bootstrap: unknown argument '$1' (expected --build-only)" >&2; exit 2 ;;
esac

packages=(
  # build (ca-certificates: the image build stage copies them into the runtime image)
  build-essential cmake ninja-build pkg-config ca-certificates
  libboost1.81-dev libboost-json1.81-dev libhiredis-dev libspdlog-dev libfmt-dev
  libprimesieve-dev libssl-dev
)
if ! $build_only; then
  packages+=(
    git libgtest-dev libgmock-dev
    # lint
    clang-format clang-tidy iwyu shellcheck yamllint
    # local stack and black-box tests
    redis-server prometheus curl procps
    python3 python3-pytest python3-requests python3-redis python3-celery
    # the browser test of GET /'s page (tests/integration/test_ui.py)
    chromium chromium-driver python3-selenium
    # the WebSocket test of GET /ws/echo (tests/integration/test_websocket.py)
    python3-websockets
    # benchmarks
    wrk nginx-light python3-fastapi python3-uvicorn
    # chart and pipeline tests (their npm tools come from scripts/install-tools.sh)
    unzip python3-yaml jq
    # image test (tests/images/run.sh): rootful Podman with runc (crun rejects this kind of
    # machine's cgroup layout), mmdebstrap for the local base image stand-ins, podman-compose
    # with the dnsname plugin for docker-compose.yml, iptables for its published ports
    podman runc conmon catatonit mmdebstrap debian-archive-keyring
    podman-compose golang-github-containernetworking-plugin-dnsname iptables
  )
  # Node.js and npm usually ship with the machine (a newer build than Debian's); only when they
  # are absent do Debian's packages stand in.
  if ! command -v npm >/dev/null 2>&1; then
    packages+=(nodejs npm)
  fi
fi

missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} > 0)); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "bootstrap: missing packages (${missing[*]}); run as root or install them with apt-get" >&2
    exit 1
  fi
  echo "bootstrap: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Another job on the machine may hold the dpkg lock for a while: wait for it instead of failing.
  apt_opts=(-o DPkg::Lock::Timeout=600)
  apt-get "${apt_opts[@]}" update -qq
  apt-get "${apt_opts[@]}" install -y -qq --no-install-recommends "${missing[@]}"

  # Debian starts the packaged services on install; the project runs its own on loopback ports.
  for svc in redis-server nginx prometheus; do
    if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
      systemctl stop "$svc" || true
    fi
  done
fi

if ! $build_only; then
  bash "$(dirname "$0")/install-tools.sh"
fi
