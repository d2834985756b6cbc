#!/usr/bin/env bash
# The chart runs for real: builds the images (tests/images/build-test-images.sh, every layer from
# the cache when the image test built the same commit) and the base image stand-ins, then runs the
# pytest suite of this folder, which renders deploy/helm/api with values-dev.yaml, plays the api,
# worker and redis Deployments with `podman kube play` in a network namespace of its own, waits
# for their probes, runs the chart's `helm test` pod and checks the running containers
# (kubeplay.py says what is emulated and what kube play cannot show).
#
# Usage: tests/deploy/run.sh [pytest arguments, e.g. -k secret]
# Needs root (rootful Podman; without it, exits 77, which ctest reports as skipped), Podman, runc,
# mmdebstrap (scripts/bootstrap.sh), Helm (scripts/install-tools.sh) and Debian's mirror for the
# first build of the stand-ins.
set -euo pipefail
cd "$(dirname "$0")/../.."

case ${1:-} in
  -h | --help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac
if [[ $(id -u) -ne 0 ]]; then
  echo "deploy: SKIP: needs root (rootful Podman)" >&2
  exit 77
fi
for tool in podman runc mmdebstrap ip; do
  command -v "$tool" >/dev/null || { echo "deploy: FAIL: $tool missing (scripts/bootstrap.sh installs it)" >&2; exit 1; }
done
[[ -x tools/bin/helm ]] || { echo "deploy: FAIL: tools/bin/helm missing (scripts/install-tools.sh installs it)" >&2; exit 1; }

export CONTAINERS_CONF=$PWD/tests/images/containers.conf
export OCTOBER_DEPLOY_IMAGE_TAG=${OCTOBER_DEPLOY_IMAGE_TAG:-deploytest}
started=$SECONDS
bash docker/standin-base-images.sh --with-redis --with-curl
bash tests/images/build-test-images.sh "$OCTOBER_DEPLOY_IMAGE_TAG"
echo "deploy: images ready in $((SECONDS - started)) s"
exec "${OCTOBER_PYTHON:-/usr/bin/python3}" -m pytest -v -p no:cacheprovider --durations=8 tests/deploy "$@"
