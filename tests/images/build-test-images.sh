#!/usr/bin/env bash
# Builds october-api:TAG and october-worker:TAG from the Dockerfile with Podman for the tests that
# run them (tests/images, tests/deploy), always with the same build arguments for the same commit,
# so a second build of the tree (another tag, another test) takes every layer from the cache:
#   VERSION   the project version with "+imagetest" build metadata, so a /version check proves the
#             build arg reaches the binary rather than matching CMake's default by chance
#   REVISION  the commit; CREATED its commit time (not the clock: labels stay cacheable)
# and removes the images that earlier builds left untagged (not the build cache).
#
# Usage: tests/images/build-test-images.sh TAG | --print-version
set -euo pipefail
cd "$(dirname "$0")/../.."
export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/tests/images/containers.conf}

version=$(sed -n 's/^project(october VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)+imagetest
case ${1:-} in
  --print-version) echo "$version"; exit 0 ;;
  "" | -*) echo "usage: tests/images/build-test-images.sh TAG | --print-version" >&2; exit 2 ;;
esac
tag=$1

revision=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
created=$(TZ=UTC git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ 2>/dev/null || true)
REVISION=$revision VERSION=$version CREATED=${created:-unknown} \
  bash docker/build-images.sh --engine podman --tag "$tag"
for title in october-api october-worker; do
  for id in $(podman images --quiet --filter dangling=true \
    --filter "label=org.opencontainers.image.title=$title"); do
    podman rmi "$id" >/dev/null 2>&1 || true
  done
done
