#!/usr/bin/env bash
# Builds october-api and october-worker from the root Dockerfile (targets `api` and `worker`,
# one shared build stage) with the OCI label build args filled in from git and CMakeLists.txt.
#
# Usage: docker/build-images.sh [--engine docker|podman] [--tag TAG] [--no-standins]
#   --engine   default: docker when a Docker engine answers, else podman
#   --tag      image tag (default dev): october-api:TAG, october-worker:TAG
#   --no-standins  with podman, do not build local base image stand-ins when the base image is
#              missing (use this where a registry is reachable and podman may pull)
# Environment: SOURCE (repository URL for org.opencontainers.image.source), VERSION, REVISION,
# CREATED override what is derived here.
#
# With podman it runs `podman --runtime runc build --network=host --format docker` under the
# containers.conf in tests/images/ (this kind of machine needs runc and no default ulimits;
# --format docker keeps HEALTHCHECK, which the OCI format drops).
set -euo pipefail
cd "$(dirname "$0")/.."

engine=
tag=dev
standins=true
while (($#)); do
  case $1 in
    --engine) engine=${2:?--engine needs docker or podman}; shift ;;
    --engine=*) engine=${1#*=} ;;
    --tag) tag=${2:?--tag needs a value}; shift ;;
    --tag=*) tag=${1#*=} ;;
    --no-standins) standins=false ;;
    -h | --help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-images: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift
done
if [[ -z $engine ]]; then
  if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then engine=docker; else engine=podman; fi
fi

version=${VERSION:-$(sed -n 's/^project(october VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)}
revision=${REVISION:-$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)}
created=${CREATED:-$(date -u +%Y-%m-%dT%H:%M:%SZ)}
source_url=${SOURCE:-$(git remote get-url origin 2>/dev/null || echo unknown)}
build_args=(
  --build-arg "VERSION=${version:-unknown}"
  --build-arg "REVISION=$revision"
  --build-arg "CREATED=$created"
  --build-arg "SOURCE=$source_url"
)
# The same values as --label too: Podman 4.3's buildah (1.28) leaves build-arg values out of the
# cache key of LABEL steps, so a cached LABEL layer would keep the previous build's values.
for key in version revision created source; do
  case $key in
    version) value=${version:-unknown} ;;
    revision) value=$revision ;;
    created) value=$created ;;
    source) value=$source_url ;;
  esac
  build_args+=(--label "org.opencontainers.image.$key=$value")
done

case $engine in
  docker)
    cmd=(docker build)
    ;;
  podman)
    export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/tests/images/containers.conf}
    if $standins; then
      bash docker/standin-base-images.sh
      cmd=(podman --runtime runc build --network=host --format docker --pull=never)
    else
      cmd=(podman --runtime runc build --network=host --format docker)
    fi
    ;;
  *) echo "build-images: --engine must be docker or podman" >&2; exit 2 ;;
esac

for target in worker api; do
  start=$SECONDS
  echo "build-images: october-$target:$tag ($engine, version $version, revision $revision)"
  "${cmd[@]}" --target "$target" -t "october-$target:$tag" "${build_args[@]}" .
  echo "build-images: october-$target:$tag built in $((SECONDS - start)) s"
done
