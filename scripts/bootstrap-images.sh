#!/usr/bin/env bash
# Installs what building and testing the container images needs on a Debian 12 host: Podman with
# runc (crun rejects this kind of machine's hybrid cgroup layout), mmdebstrap for the local base
# image stand-ins, podman-compose (with the dnsname plugin) to run docker-compose.yml. The
# project's own packages (curl, shellcheck, ...) come from scripts/bootstrap.sh.
# Idempotent: when everything is present it only asks dpkg and returns; `apt-get update` runs
# only when something is missing.
set -euo pipefail

packages=(
  podman runc conmon catatonit
  mmdebstrap debian-archive-keyring
  # docker-compose.yml under podman-compose: service names resolve through the dnsname CNI
  # plugin, published ports need iptables.
  podman-compose golang-github-containernetworking-plugin-dnsname iptables
  curl ca-certificates
)

missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "bootstrap-images: missing packages (${missing[*]}); run as root or install them with apt-get" >&2
  exit 1
fi

echo "bootstrap-images: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Other jobs on the machine may hold the dpkg lock for a while: wait for it instead of failing.
apt_opts=(-o DPkg::Lock::Timeout=600)
apt-get "${apt_opts[@]}" update -qq
apt-get "${apt_opts[@]}" install -y -qq --no-install-recommends "${missing[@]}"
