#!/usr/bin/env bash
# Local stand-ins for the base images the Dockerfile and docker-compose.yml name, for machines
# that reach Debian's mirror but no container registry, built from Debian 12 packages (the Debian
# one with mmdebstrap and `podman import`, the Redis one on top of it with `podman build`) and
# named exactly as the FROM line or the compose `image:` names them, so Podman finds them locally
# and never tries to pull.
#
#   docker.io/library/debian:bookworm-slim  minbase bookworm, docs/man/locales excluded (~80 MB)
#   docker.io/library/redis:7-bookworm      Debian's redis-server (7.0) on top of it, runs as
#                                           redis (uid/gid 999 as in the official image), data
#                                           in /data (only with --with-redis)
#   localhost/october-standin-curl:bookworm sh and Debian's curl on top of it, uid 65532: the
#                                           stand-in for the chart's `helm test` image
#                                           (curlimages/curl; only with --with-curl)
#
# Usage: docker/standin-base-images.sh [--with-redis] [--with-curl] [--force]
# Reuses what exists: the images in podman's storage, and for the Debian one the rootfs tarball
# cached in .cache/images/ (git-ignored; keyed by this recipe's version), so mmdebstrap runs once.
# Needs root, podman and mmdebstrap (scripts/bootstrap.sh installs them).
# mmdebstrap hooks receive the rootfs path as $1, so they are single-quoted on purpose.
# shellcheck disable=SC2016
set -euo pipefail
cd "$(dirname "$0")/.."
export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/tests/images/containers.conf}

with_redis=false
with_curl=false
force=false
for arg in "$@"; do
  case $arg in
    --with-redis) with_redis=true ;;
    --with-curl) with_curl=true ;;
    --force) force=true ;;
    -h | --help)
      sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "standin-base-images: unknown argument '$arg'" >&2
      exit 2
      ;;
  esac
done

# Bump when the recipe changes so cached tarballs are rebuilt.
recipe=1
cache_dir=${OCTOBER_IMAGE_CACHE:-.cache/images}
mkdir -p "$cache_dir"

mirrors=(
  "deb http://deb.debian.org/debian bookworm main"
  "deb http://deb.debian.org/debian bookworm-updates main"
  "deb http://deb.debian.org/debian-security bookworm-security main"
)
# What debian:bookworm-slim leaves out; dpkg keeps excluding them for later installs too.
slim_opts=(
  --dpkgopt='path-exclude=/usr/share/man/*'
  --dpkgopt='path-exclude=/usr/share/locale/*'
  --dpkgopt='path-include=/usr/share/locale/locale.alias'
  --dpkgopt='path-exclude=/usr/share/doc/*'
  --dpkgopt='path-include=/usr/share/doc/*/copyright'
  --dpkgopt='path-exclude=/usr/share/info/*'
)
# The official images clean apt's package cache after each install: do the same.
clean_hook='printf "%s\n" "DPkg::Post-Invoke { \"rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true\"; };" "APT::Update::Post-Invoke { \"rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true\"; };" "Dir::Cache::pkgcache \"\"; Dir::Cache::srcpkgcache \"\";" > "$1/etc/apt/apt.conf.d/docker-clean"'
# Leave no apt lists, logs or machine identity in the image.
tidy_hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin "$1"/var/log/apt/* "$1"/var/log/dpkg.log "$1"/var/log/alternatives.log; : > "$1/etc/machine-id"'

log() { echo "standin-base-images: $*"; }

# The Debian stand-in: podman storage, else the cached tarball, else mmdebstrap.
debian_image=docker.io/library/debian:bookworm-slim
build_debian() {
  if ! $force && podman image exists "$debian_image"; then
    log "$debian_image present in podman storage"
    return
  fi
  local tarball=$cache_dir/debian-bookworm-slim-r$recipe.tar
  if $force || [[ ! -s $tarball ]]; then
    log "building $debian_image with mmdebstrap (30 s to a few minutes; log in $cache_dir/mmdebstrap.log)"
    local start=$SECONDS
    if ! mmdebstrap --variant=minbase --mode=root --format=tar \
      --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
      "${slim_opts[@]}" \
      --customize-hook="$clean_hook" \
      --customize-hook="$tidy_hook" \
      bookworm "$tarball.tmp" "${mirrors[@]}" >"$cache_dir/mmdebstrap.log" 2>&1; then
      tail -n 30 "$cache_dir/mmdebstrap.log" >&2
      rm -f "$tarball.tmp"
      echo "standin-base-images: mmdebstrap failed" >&2
      exit 1
    fi
    mv "$tarball.tmp" "$tarball"
    log "rootfs for $debian_image: $((SECONDS - start)) s, $(du -h "$tarball" | cut -f1)"
  else
    log "importing $debian_image from cached $tarball"
  fi
  podman import --quiet \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' "$tarball" "$debian_image" >/dev/null
  log "$debian_image imported"
}

# build_on_debian IMAGE RECIPE: builds IMAGE from the Containerfile on stdin (FROM the Debian
# stand-in) unless podman's storage holds it with the same recipe label. The label makes a changed
# recipe rebuild on machines that kept an older image.
build_on_debian() {
  local image=$1 recipe=$2 start=$SECONDS context log
  local label=org.october.standin.recipe
  if ! $force && podman image exists "$image" &&
    [[ $(podman image inspect --format "{{index .Config.Labels \"$label\"}}" "$image") == "$recipe" ]]; then
    log "$image present in podman storage"
    return
  fi
  log=$cache_dir/$(basename "${image%%:*}")-build.log
  log "building $image on $debian_image (log in $log)"
  context=$(mktemp -d)
  { cat; echo "LABEL $label=$recipe"; } >"$context/Containerfile"
  if ! podman --runtime runc build --network=host --pull=never --format docker \
    -t "$image" "$context" >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    rm -rf "$context"
    echo "standin-base-images: building $image failed" >&2
    exit 1
  fi
  rm -rf "$context"
  # The image this one replaces, now untagged.
  podman image prune --force --filter "label=$label" >/dev/null
  log "$image built in $((SECONDS - start)) s"
}

# The Redis stand-in: Debian's redis-server on top of the Debian stand-in, run as the redis user
# with its data in /data like the official image, whose redis user and group are 999 (the chart's
# redis.runAsUser): the user exists before the package would pick a free system uid. Unlike the
# official image it declares no VOLUME: a Kubernetes node mounts none for it, but `podman kube
# play` would, and a pod spec that forgot its data volume would then pass tests/deploy. The
# compose file mounts its own volume.
redis_image=docker.io/library/redis:7-bookworm
build_redis() {
  build_on_debian "$redis_image" 3 <<'CONTAINERFILE'
FROM docker.io/library/debian:bookworm-slim
RUN groupadd --system --gid 999 redis \
 && useradd --system --uid 999 --gid redis --home-dir /var/lib/redis --shell /usr/sbin/nologin redis \
 && apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server redis-tools \
 && rm -rf /var/lib/apt/lists/* /var/log/apt/* /var/log/dpkg.log \
 && install -d -o redis -g redis -m 0750 /data
WORKDIR /data
USER redis
EXPOSE 6379
CMD ["redis-server", "--bind", "0.0.0.0", "--protected-mode", "no"]
CONTAINERFILE
}

# The curl stand-in: what the chart's `helm test` pod needs of curlimages/curl (sh and curl, a
# non-root user 65532 as that image's 100 is not what the chart runs it as).
curl_image=localhost/october-standin-curl:bookworm
build_curl() {
  build_on_debian "$curl_image" 1 <<'CONTAINERFILE'
FROM docker.io/library/debian:bookworm-slim
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends curl ca-certificates \
 && rm -rf /var/lib/apt/lists/* /var/log/apt/* /var/log/dpkg.log
USER 65532:65532
ENTRYPOINT ["curl"]
CONTAINERFILE
}

build_debian
if $with_redis; then build_redis; fi
if $with_curl; then build_curl; fi
