#!/usr/bin/env bash
# End-to-end test of October on a real Kubernetes cluster (kind): the chart deploy/helm/api
# installed by scripts/deploy.sh, the script the CD workflow uses. .github/workflows/e2e.yml runs
# exactly this (through `make e2e-kind`); with Docker or Podman, kind, kubectl, helm, jq and curl
# it runs the same way on a workstation.
#
# Usage: tests/e2e/kind.sh [COMMAND] [options]
#
# Commands:
#   run           (default) build both images, create (or reuse) the kind cluster from the pinned
#                 node image, kind load the images, install metrics-server, deploy with
#                 scripts/deploy.sh, then the drills; diagnostics on failure; delete the cluster
#   versions      print the pinned versions of tests/e2e/versions.env as key=value lines (the
#                 workflow appends them to $GITHUB_OUTPUT)
#   install-kind  download the pinned kind binary into --tools-dir and check its SHA-256
#   delete        delete the kind cluster --name
#
# Drills (--drills, comma-separated; default all, in this order):
#   helm-test    `helm test --logs`: the chart's in-cluster smoke pod
#   smoke        scripts/deploy.sh smoke --smoke-via port-forward (scripts/smoke.sh on 127.0.0.1)
#   bad-release  an upgrade with api.config.FAIL_HEALTHZ=true (the api fails its startup and
#                liveness probes) must fail and be rolled back, once with --atomic as CD runs it
#                (Helm rolls back) and once without (scripts/deploy.sh rolls back); helm history
#                and the manifest show the previous revision is back, and smoke passes again
#   worker-kill  enqueue slow `sleep` tasks through POST /tasks, delete the worker pod mid-batch;
#                every task's result is in Redis as SUCCESS and every task ran exactly once
#   hpa          /burn load from a pod in the cluster scales the api HPA above 1 replica in time
#
# Options:
#   --name NAME          kind cluster name (default october-e2e)
#   --engine ENGINE      docker or podman (default: docker when it answers, else podman; podman
#                        sets KIND_EXPERIMENTAL_PROVIDER=podman)
#   --tag TAG            image tag to build and deploy (default e2e-<UTC time>)
#   --skip-build         do not build: october-api:TAG and october-worker:TAG exist already
#   --drills LIST        drills to run (default helm-test,smoke,bad-release,worker-kill,hpa)
#   --keep               keep the cluster afterwards (default: delete it, also after a failure)
#   --out DIR            logs, diagnostics and summary (default build/e2e)
#   -n, --namespace NS   namespace of the release app (default october; recreated on every run)
#   --timeout DURATION   Helm wait of the good deploys (default 5m)
#   --bad-timeout DUR    Helm wait of the bad release before it counts as failed (default 90s)
#   --tasks N            tasks of the worker-kill drill (default 24)
#   --task-seconds S     seconds each of them sleeps (default 3)
#   --hpa-timeout S      seconds the api HPA may take to scale above 1 replica (default 300)
#   --install-kind       install the pinned kind first (as `install-kind`) and use it
#   --tools-dir DIR      where install-kind puts kind (default build/e2e-tools/bin)
#   --cache-dir DIR      keep the pinned kind binary and node image in DIR and reuse them (the
#                        E2E workflow keeps DIR with actions/cache; see Cache below)
#   -h, --help           this text
#
# Cache (--cache-dir DIR; the E2E workflow restores and saves DIR with actions/cache):
#   DIR/kind-OS-ARCH    install-kind copies it instead of downloading when its SHA-256 is the
#                       pin; otherwise kind is downloaded, checked as usual and kept there
#   DIR/node-image.tar  `docker save` / `podman save` of the node image, beside node-image.ref
#                       (the KIND_NODE_IMAGE it was saved for), node-image.digest (the repo
#                       digest the engine reported when it pulled the image) and node-image.id
#                       (engine and image ID). When the ref is KIND_NODE_IMAGE and the engine is
#                       this one, it is loaded (`docker load` / `podman load`) before the cluster
#                       is created; a recorded digest other than the pinned one, or a loaded
#                       image ID other than the recorded one, refuses it and stops the run (1).
#                       Otherwise the image is pulled by digest and saved there.
#
# Environment: HELM, KUBECTL (the binaries, default helm and kubectl from PATH; passed on to
# scripts/deploy.sh), GITHUB_ACTIONS / GITHUB_STEP_SUMMARY (log groups and the job summary).
# The cluster's kubeconfig is a temporary file: your own kubeconfig is never changed.
#
# Exit status: 0 every drill passed; 1 a drill or a setup step failed (named in the output and in
# OUT/summary.md, diagnostics in OUT/diagnostics); 2 bad usage or a missing tool.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo_root"
versions_file=tests/e2e/versions.env

export HELM=${HELM:-helm}
export KUBECTL=${KUBECTL:-kubectl}
helm_bin=$HELM
kubectl_bin=$KUBECTL

all_drills=(helm-test smoke bad-release worker-kill hpa)
command=run
cluster=october-e2e
engine=
tag=
skip_build=false
drills_arg=
keep=false
out_dir=build/e2e
namespace=october
release=app
timeout=5m
bad_timeout=90s
tasks=24
task_seconds=3
hpa_timeout=300
install_kind_first=false
tools_dir=build/e2e-tools/bin
cache_dir=
# Where the locally built images are tagged for the cluster (never pulled: pullPolicy Never).
registry=e2e.local/october

report_name=e2e
report_help="tests/e2e/kind.sh --help"
# shellcheck source=../../scripts/lib/report.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/report.sh"

# --- pinned versions -------------------------------------------------------------------------
kind_version=
kind_node_image=
kind_sha256_linux_amd64=
kind_sha256_linux_arm64=
kubectl_version=
helm_version=
metrics_server_version=
read_versions() {
  local line key value number=0
  [[ -f $versions_file ]] || {
    error "$versions_file is missing"
    exit 2
  }
  while IFS= read -r line || [[ -n $line ]]; do
    number=$((number + 1))
    [[ -z $line || $line == \#* ]] && continue
    [[ $line =~ ^([A-Z0-9_]+)=([^[:space:]]+)$ ]] || {
      error "$versions_file:$number is not KEY=VALUE: $line"
      exit 2
    }
    key=${BASH_REMATCH[1]}
    value=${BASH_REMATCH[2]}
    case $key in
      KIND_VERSION) kind_version=$value ;;
      KIND_NODE_IMAGE) kind_node_image=$value ;;
      KIND_SHA256_LINUX_AMD64) kind_sha256_linux_amd64=$value ;;
      KIND_SHA256_LINUX_ARM64) kind_sha256_linux_arm64=$value ;;
      KUBECTL_VERSION) kubectl_version=$value ;;
      HELM_VERSION) helm_version=$value ;;
      METRICS_SERVER_VERSION) metrics_server_version=$value ;;
      *)
        error "$versions_file:$number: unknown key $key"
        exit 2
        ;;
    esac
  done <"$versions_file"
  # The node image is pinned by version and digest: a tag alone can be rebuilt for another kind.
  [[ $kind_node_image =~ ^kindest/node:v1\.([0-9]+)\.[0-9]+@sha256:[0-9a-f]{64}$ ]] || {
    error "KIND_NODE_IMAGE '$kind_node_image' is not kindest/node:vX.Y.Z@sha256:<digest>"
    exit 2
  }
  node_minor=${BASH_REMATCH[1]}
  local name
  for name in kind_version kubectl_version helm_version metrics_server_version; do
    [[ ${!name} =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]] || {
      error "$versions_file: ${name^^} '${!name}' is not vX.Y.Z"
      exit 2
    }
  done
}

# --- arguments -------------------------------------------------------------------------------
if (($#)) && [[ $1 != -* ]]; then
  command=$1
  shift
fi
case $command in
  run | versions | install-kind | delete) ;;
  help)
    usage
    exit 0
    ;;
  *) die_usage "unknown command '$command'" ;;
esac
while (($#)); do
  case $1 in
    --name) need_value "$1" $# && cluster=$2 && shift ;;
    --engine) need_value "$1" $# && engine=$2 && shift ;;
    --tag) need_value "$1" $# && tag=$2 && shift ;;
    --skip-build) skip_build=true ;;
    --drills) need_value "$1" $# && drills_arg=$2 && shift ;;
    --keep) keep=true ;;
    --out) need_value "$1" $# && out_dir=$2 && shift ;;
    -n | --namespace) need_value "$1" $# && namespace=$2 && shift ;;
    --timeout) need_value "$1" $# && timeout=$2 && shift ;;
    --bad-timeout) need_value "$1" $# && bad_timeout=$2 && shift ;;
    --tasks) need_value "$1" $# && tasks=$2 && shift ;;
    --task-seconds) need_value "$1" $# && task_seconds=$2 && shift ;;
    --hpa-timeout) need_value "$1" $# && hpa_timeout=$2 && shift ;;
    --install-kind) install_kind_first=true ;;
    --tools-dir) need_value "$1" $# && tools_dir=$2 && shift ;;
    --cache-dir) need_value "$1" $# && cache_dir=$2 && shift ;;
    -h | --help)
      usage
      exit 0
      ;;
    *) die_usage "unknown argument '$1'" ;;
  esac
  shift
done

[[ $cluster =~ ^[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?$ ]] || die_usage "--name '$cluster' is not a kind cluster name (lowercase letters, digits, '-')"
[[ $namespace =~ ^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$ ]] || die_usage "--namespace '$namespace' is not a namespace name"
[[ -z $engine || $engine == docker || $engine == podman ]] || die_usage "--engine must be docker or podman"
[[ -z $tag || $tag =~ ^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$ ]] || die_usage "--tag '$tag' is not an image tag"
if [[ $skip_build == true && -z $tag ]]; then die_usage "--skip-build needs --tag (the tag of the images already built)"; fi
for duration in "$timeout" "$bad_timeout"; do
  [[ $duration =~ ^[0-9]+(s|m)$ ]] || die_usage "--timeout and --bad-timeout need a duration such as 90s or 5m, got '$duration'"
done
for pair in "tasks:$tasks" "task-seconds:$task_seconds" "hpa-timeout:$hpa_timeout"; do
  [[ ${pair#*:} =~ ^[1-9][0-9]*$ ]] || die_usage "--${pair%%:*} needs a positive whole number, got '${pair#*:}'"
done
drills=("${all_drills[@]}")
if [[ -n $drills_arg ]]; then
  IFS=, read -r -a drills <<<"$drills_arg"
  for drill in "${drills[@]}"; do
    [[ " ${all_drills[*]} " == *" $drill "* ]] || die_usage "unknown drill '$drill' (drills: ${all_drills[*]})"
  done
fi
wants() { [[ " ${drills[*]} " == *" $1 "* ]]; }

read_versions

# --- small helpers ---------------------------------------------------------------------------
helm() { command "$helm_bin" "$@"; }
kubectl() { command "$kubectl_bin" "$@"; }
kns() { kubectl --namespace "$namespace" "$@"; }

require_tools() {
  local tool missing=()
  # type -P: a binary on PATH (or a path), never the kubectl/helm functions of this script.
  for tool in "$@"; do type -P "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
  if ((${#missing[@]})); then
    error "not installed or not on PATH: ${missing[*]} (docs/CI_CD.md, End-to-end tests on kind)"
    exit 2
  fi
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  else
    shasum -a 256 "$1" | cut -d' ' -f1
  fi
}

# --- results and the summary -----------------------------------------------------------------
results=()
current=setup
started_at=$SECONDS
step_started=$SECONDS
begin() {
  current=$1
  step_started=$SECONDS
  group "$1: $2"
}
pass() {
  endgroup
  results+=("$current|passed|$((SECONDS - step_started)) s|$1")
  log "PASS $current: $1"
}
fail() {
  endgroup
  results+=("$current|FAILED|$((SECONDS - step_started)) s|$1")
  error "FAIL $current: $1"
  exit 1
}

write_summary() {
  local file="$out_dir/summary.md" row name result took detail status=passed
  [[ ${#results[@]} -gt 0 ]] || return 0
  for row in "${results[@]}"; do [[ $row != *"|FAILED|"* ]] || status=failed; done
  mkdir -p "$out_dir"
  {
    echo "## End-to-end on kind: $status"
    echo
    echo "kind $kind_version, node \`$kind_node_image\`, images \`$registry/october-{api,worker}:$tag\`, $((SECONDS - started_at)) s"
    echo
    echo "| step | result | time | detail |"
    echo "|---|---|---|---|"
    for row in "${results[@]}"; do
      IFS='|' read -r name result took detail <<<"$row"
      echo "| $name | $result | $took | ${detail//|/\\|} |"
    done
    if [[ $status == failed ]]; then
      echo
      echo "Diagnostics: \`$out_dir/diagnostics\` (scripts/diagnostics.sh) and \`$out_dir/kind-logs\`; in CI the artifact e2e-diagnostics-<run>-<attempt>."
    fi
  } >"$file"
  if [[ -n ${GITHUB_STEP_SUMMARY:-} ]]; then cat "$file" >>"$GITHUB_STEP_SUMMARY"; fi
  echo
  cat "$file"
}

# --- background processes (port-forwards, log streams, the load pod) -------------------------
background=()
stop_pid() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
stop_background() {
  local pid
  for pid in "${background[@]}"; do stop_pid "$pid"; done
  background=()
}

# port_forward SERVICE PORT LOG: kubectl port-forward on 127.0.0.1, any free port; sets pf_port
# and pf_pid.
pf_port=
pf_pid=
port_forward() {
  : >"$3"
  # The binary itself in the background (not the kubectl function), so $! is kubectl's pid.
  "$kubectl_bin" --namespace "$namespace" port-forward --address 127.0.0.1 "svc/$1" ":$2" >"$3" 2>&1 &
  pf_pid=$!
  background+=("$pf_pid")
  local waited=0
  pf_port=
  while ((waited < 300)); do
    pf_port=$(sed -n 's/^Forwarding from 127\.0\.0\.1:\([0-9][0-9]*\) -> .*/\1/p' "$3" | head -n 1)
    [[ -z $pf_port ]] || return 0
    kill -0 "$pf_pid" 2>/dev/null || break
    sleep 0.1
    waited=$((waited + 1))
  done
  fail "kubectl port-forward to svc/$1:$2 did not start: $(tr '\n' ' ' <"$3")"
}

# --- cleanup and diagnostics -----------------------------------------------------------------
kubeconfig_dir=
cluster_up=false
collect_diagnostics() {
  group "diagnostics into $out_dir/diagnostics"
  bash scripts/diagnostics.sh --namespace "$namespace" --release "$release" \
    --out "$out_dir/diagnostics" || warn "diagnostics were incomplete"
  {
    kubectl get nodes -o wide --request-timeout=30s
    kubectl top nodes --request-timeout=30s
    kns top pods --request-timeout=30s
    kubectl --namespace kube-system get pods -o wide --request-timeout=30s
  } >"$out_dir/diagnostics/cluster.txt" 2>&1 || true
  kind export logs "$out_dir/kind-logs" --name "$cluster" >/dev/null 2>&1 || warn "kind export logs failed"
  endgroup
}

on_exit() {
  local rc=$?
  set +e
  stop_background
  if [[ $cluster_up == true ]]; then
    kns delete pod e2e-burn --ignore-not-found --wait=false >/dev/null 2>&1
    if ((rc != 0)); then
      if [[ $current != setup && ${results[*]} != *"$current|FAILED|"* ]]; then
        results+=("$current|FAILED|$((SECONDS - step_started)) s|stopped with exit $rc (see the log)")
      fi
      collect_diagnostics
    fi
  fi
  write_summary
  if [[ $command == run && $cluster_up == true ]]; then
    if [[ $keep == true ]]; then
      log "cluster $cluster kept (--keep): kind export kubeconfig --name $cluster; delete it with tests/e2e/kind.sh delete --name $cluster"
    else
      group "kind delete cluster --name $cluster"
      kind delete cluster --name "$cluster"
      endgroup
    fi
  fi
  if [[ -n $kubeconfig_dir ]]; then rm -rf "$kubeconfig_dir"; fi
  exit "$rc"
}

# --- commands --------------------------------------------------------------------------------
cmd_versions() {
  echo "kind-version=$kind_version"
  echo "kind-node-image=$kind_node_image"
  echo "kubectl-version=$kubectl_version"
  echo "helm-version=$helm_version"
  echo "metrics-server-version=$metrics_server_version"
}

cmd_install_kind() {
  local os arch sha url origin tmp cached=
  if [[ -x $tools_dir/kind ]] && [[ $("$tools_dir/kind" version 2>/dev/null) == "kind $kind_version "* ]]; then
    log "kind $kind_version already in $tools_dir"
  else
    os=$(uname -s | tr '[:upper:]' '[:lower:]')
    case $(uname -m) in
      x86_64 | amd64) arch=amd64 ;;
      aarch64 | arm64) arch=arm64 ;;
      *) arch=unknown ;;
    esac
    case $os-$arch in
      linux-amd64) sha=$kind_sha256_linux_amd64 ;;
      linux-arm64) sha=$kind_sha256_linux_arm64 ;;
      *)
        error "no pinned kind checksum for $os-$arch: install kind $kind_version yourself (https://kind.sigs.k8s.io/docs/user/quick-start/#installation)"
        exit 2
        ;;
    esac
    url="https://github.com/kubernetes-sigs/kind/releases/download/$kind_version/kind-$os-$arch"
    origin=$url
    mkdir -p "$tools_dir"
    tmp="$tools_dir/.kind.download"
    if [[ -n $cache_dir ]]; then cached="$cache_dir/kind-$os-$arch"; fi
    if [[ -n $cached && -f $cached && $(sha256_of "$cached") == "$sha" ]]; then
      log "kind $kind_version ($os-$arch) from the cache $cache_dir"
      cp "$cached" "$tmp"
      origin=$cached
    else
      if [[ -n $cached && -f $cached ]]; then
        warn "$cached does not have the pinned SHA-256 of kind $kind_version: downloading it again"
      fi
      require_tools curl
      log "downloading kind $kind_version ($os-$arch)"
      curl -fsSL --retry 3 --retry-delay 2 -o "$tmp" "$url"
    fi
    # Both the cached and the downloaded binary: nothing unchecked is ever installed or cached.
    if [[ $(sha256_of "$tmp") != "$sha" ]]; then
      rm -f "$tmp"
      error "kind-$os-$arch from $origin does not have the pinned SHA-256 $sha"
      exit 1
    fi
    chmod 755 "$tmp"
    if [[ -n $cached && $origin == "$url" ]]; then
      mkdir -p "$cache_dir"
      cp "$tmp" "$cached"
    fi
    mv "$tmp" "$tools_dir/kind"
    log "kind $kind_version installed into $tools_dir (SHA-256 checked)"
  fi
  PATH="$(cd "$tools_dir" && pwd):$PATH"
  export PATH
}

choose_engine() {
  if [[ -z $engine ]]; then
    if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
      engine=docker
    elif command -v podman >/dev/null 2>&1; then
      engine=podman
    else
      error "neither Docker nor Podman answers: kind needs one of them"
      exit 2
    fi
  fi
  if [[ $engine == podman ]]; then export KIND_EXPERIMENTAL_PROVIDER=podman; fi
}

check_tool_versions() {
  local kind_line client_minor
  kind_line=$(kind version)
  if [[ $kind_line != "kind $kind_version "* ]]; then
    warn "$kind_line is not the pinned kind $kind_version: $kind_node_image is only supported by the kind release that built it (--install-kind installs the pinned one)"
  fi
  client_minor=$(kubectl version --client -o json | jq -r '.clientVersion.minor' | tr -dc '0-9')
  if [[ -n $client_minor ]] && ((client_minor < node_minor - 1 || client_minor > node_minor + 1)); then
    warn "kubectl 1.$client_minor is more than one minor away from the cluster's 1.$node_minor (pinned: $kubectl_version)"
  fi
  log "engine $engine; $kind_line; kubectl client 1.${client_minor:-?}; $(helm version --short)"
}

build_images() {
  begin images "build october-api:$tag and october-worker:$tag ($engine) and tag them $registry/..."
  if [[ $skip_build == false ]]; then
    local args=(--engine "$engine" --tag "$tag")
    # Stand-in base images are for machines without a registry; here the real ones are pulled.
    if [[ $engine == podman ]]; then args+=(--no-standins); fi
    bash docker/build-images.sh "${args[@]}" || fail "docker/build-images.sh failed"
  fi
  local image
  for image in october-api october-worker; do
    "$engine" image inspect "$image:$tag" >/dev/null 2>&1 ||
      fail "$image:$tag does not exist (built with --skip-build?)"
    "$engine" tag "$image:$tag" "$registry/$image:$tag"
  done
  pass "$registry/october-api:$tag, $registry/october-worker:$tag"
}

# --- the node image and its cache (--cache-dir) ----------------------------------------------
# Without a cache kind pulls the node image itself, by digest. With one, the image comes from
# DIR/node-image.tar when that was saved for KIND_NODE_IMAGE by this engine -- checked twice: the
# recorded repo digest must be the pin's, and the loaded image must have the recorded image ID --
# or is pulled by digest and saved there. A cache that fails a check is refused with a warning
# and replaced by a fresh pull: a stale or damaged cache entry (one actions/cache will not
# overwrite under the same key) costs a download, never a red run. kind_image is what
# `kind create cluster` is given.
kind_image=
cache_file() { if [[ -f $cache_dir/$1 ]]; then cat "$cache_dir/$1"; fi; }

node_image() {
  kind_image=$kind_node_image
  [[ -n $cache_dir ]] || return 0
  if kind get clusters 2>/dev/null | grep -qx "$cluster"; then return 0; fi
  begin node-image "the pinned node image, through the cache $cache_dir"
  local archive="$cache_dir/node-image.tar" pinned_digest=${kind_node_image##*@}
  local repo="docker.io/${kind_node_image%%:*}" tagged="docker.io/${kind_node_image%@*}"
  local saved_ref saved_digest saved_id id recorded
  saved_ref=$(cache_file node-image.ref)
  saved_digest=$(cache_file node-image.digest)
  saved_id=$(cache_file node-image.id)
  if [[ -f $archive && $saved_ref == "$kind_node_image" && ${saved_id%% *} == "$engine" ]]; then
    if ! [[ $saved_digest =~ ^(docker\.io/)?kindest/node@(sha256:[0-9a-f]{64})$ &&
      ${BASH_REMATCH[2]} == "$pinned_digest" ]]; then
      warn "$cache_dir/node-image.digest records '$saved_digest', not the pinned $pinned_digest: cached archive refused, pulling again"
    elif ! "$engine" load -i "$archive" >/dev/null; then
      warn "$engine load -i $archive failed: cached archive refused, pulling again"
    else
      id=$("$engine" image inspect --format '{{.Id}}' "$tagged" 2>/dev/null) || id=
      if [[ "$engine $id" == "$saved_id" ]]; then
        # Docker's classic image store keeps the tag across save and load, not the registry
        # digest: kind then gets the tag, whose image ID was just checked (else it would pull it
        # again).
        if ! "$engine" image inspect "$repo@$pinned_digest" >/dev/null 2>&1; then
          kind_image=${kind_node_image%@*}
        fi
        pass "loaded $archive: recorded digest $pinned_digest, image ID $id"
        return 0
      fi
      warn "the image loaded from $archive has ID '${id:-none}', not the recorded '${saved_id#* }': cached archive refused, pulling again"
      "$engine" rmi "$tagged" >/dev/null 2>&1 || true
    fi
  elif [[ -f $archive ]]; then
    log "$archive was saved for '$saved_ref' by ${saved_id%% *}, not for this pin and engine: pulling again"
  fi
  "$engine" pull "$repo@$pinned_digest" || fail "$engine pull $repo@$pinned_digest failed"
  recorded=$("$engine" image inspect --format '{{range .RepoDigests}}{{println .}}{{end}}' "$repo@$pinned_digest" |
    grep -E "^(docker\.io/)?kindest/node@$pinned_digest\$" | head -n 1) || recorded=
  [[ -n $recorded ]] || fail "$engine does not report the pinned digest $pinned_digest for the pulled node image"
  id=$("$engine" image inspect --format '{{.Id}}' "$repo@$pinned_digest")
  "$engine" tag "$repo@$pinned_digest" "$tagged"
  # The reference last: until it is written, a half-saved archive is never taken for the pin.
  mkdir -p "$cache_dir"
  rm -f "$archive" "$archive.partial" "$cache_dir/node-image.ref" "$cache_dir/node-image.digest" "$cache_dir/node-image.id"
  "$engine" save -o "$archive.partial" "$tagged" || fail "$engine save of the node image into $cache_dir failed"
  mv "$archive.partial" "$archive"
  echo "$recorded" >"$cache_dir/node-image.digest"
  echo "$engine $id" >"$cache_dir/node-image.id"
  echo "$kind_node_image" >"$cache_dir/node-image.ref"
  pass "pulled $repo@$pinned_digest, saved to $archive"
}

create_cluster() {
  begin cluster "kind cluster $cluster from $kind_node_image"
  kubeconfig_dir=$(mktemp -d)
  export KUBECONFIG="$kubeconfig_dir/kubeconfig"
  if kind get clusters 2>/dev/null | grep -qx "$cluster"; then
    log "reusing the existing kind cluster $cluster"
    kind export kubeconfig --name "$cluster" --kubeconfig "$KUBECONFIG"
  else
    kind create cluster --name "$cluster" --image "$kind_image" --kubeconfig "$KUBECONFIG" \
      --wait 180s || fail "kind create cluster failed"
  fi
  cluster_up=true
  kubectl wait --for=condition=Ready nodes --all --timeout=180s || fail "the node did not become Ready"
  local server
  server=$(kubectl version -o json | jq -r '.serverVersion.gitVersion')
  [[ $server == "v1.$node_minor."* ]] ||
    warn "the cluster runs Kubernetes $server, not the pinned 1.$node_minor (a reused cluster? delete it)"
  pass "Kubernetes $server"
}

load_images() {
  begin load "kind load the images into $cluster"
  local image ref archive_dir
  for image in october-api october-worker; do
    ref="$registry/$image:$tag"
    if [[ $engine == docker ]]; then
      kind load docker-image "$ref" --name "$cluster" || fail "kind load docker-image $ref failed"
    else
      # kind cannot read Podman's image store: go through an archive.
      archive_dir=$(mktemp -d)
      podman save --format docker-archive -o "$archive_dir/$image.tar" "$ref"
      kind load image-archive "$archive_dir/$image.tar" --name "$cluster" ||
        fail "kind load image-archive $ref failed"
      rm -rf "$archive_dir"
    fi
  done
  pass "both images loaded"
}

install_metrics_server() {
  begin metrics-server "metrics-server $metrics_server_version (the HPA's CPU metrics)"
  local manifest="$out_dir/metrics-server-$metrics_server_version.yaml"
  curl -fsSL --retry 3 --retry-delay 2 -o "$manifest" \
    "https://github.com/kubernetes-sigs/metrics-server/releases/download/$metrics_server_version/components.yaml" ||
    fail "could not download the metrics-server $metrics_server_version manifest"
  kubectl apply -f "$manifest" >/dev/null || fail "kubectl apply of metrics-server failed"
  # kind's kubelets serve self-signed certificates.
  if ! kubectl --namespace kube-system get deployment metrics-server \
    -o jsonpath='{.spec.template.spec.containers[0].args}' | grep -q -- --kubelet-insecure-tls; then
    kubectl --namespace kube-system patch deployment metrics-server --type=json \
      -p '[{"op":"add","path":"/spec/template/spec/containers/0/args/-","value":"--kubelet-insecure-tls"}]' >/dev/null
  fi
  kubectl --namespace kube-system rollout status deployment/metrics-server --timeout=180s ||
    fail "metrics-server did not become ready"
  pass "ready"
}

# deploy.sh ARGS...: scripts/deploy.sh with the e2e release's values. The job summary and step
# outputs are this script's, not the deploy script's.
deploy_sh() {
  GITHUB_STEP_SUMMARY='' GITHUB_OUTPUT='' bash scripts/deploy.sh "$@"
}
release_values=()
set_release_values() {
  release_values=(--namespace "$namespace" --release "$release" --registry "$registry"
    --image-tag "$tag" --set image.pullPolicy=Never --history-max 10)
}

install_release() {
  begin install "scripts/deploy.sh deploy --atomic (CD's code path) into a fresh namespace $namespace"
  if kubectl get namespace "$namespace" >/dev/null 2>&1; then
    log "namespace $namespace exists (a reused cluster): removing it first"
    helm uninstall "$release" --namespace "$namespace" --wait --timeout 3m >/dev/null 2>&1 || true
    kubectl delete namespace "$namespace" --wait --timeout=180s || fail "could not delete namespace $namespace"
  fi
  deploy_sh deploy --atomic "${release_values[@]}" --timeout "$timeout" --out "$out_dir/install" ||
    fail "scripts/deploy.sh deploy failed: $out_dir/install/summary.md"
  pass "revision $(current_revision) deployed, smoke passed through a port-forward"
}

# The newest revision of the release.
current_revision() {
  helm history "$release" --namespace "$namespace" --max 50 -o json | jq -r 'max_by(.revision) | .revision'
}

drill_helm_test() {
  begin helm-test "helm test $release --logs"
  helm test "$release" --namespace "$namespace" --logs --timeout 5m 2>&1 | tee "$out_dir/helm-test.log" ||
    fail "helm test failed: $out_dir/helm-test.log"
  pass "the chart's smoke-test pod passed"
}

# smoke LABEL: scripts/deploy.sh smoke through a port-forward (make smoke-pf).
smoke() {
  deploy_sh smoke --smoke-via port-forward --namespace "$namespace" --release "$release" \
    --out "$out_dir/smoke-$1"
}

drill_smoke() {
  begin smoke "scripts/smoke.sh through kubectl port-forward (make smoke-pf)"
  smoke first || fail "smoke tests failed: $out_dir/smoke-first"
  pass "healthz, ready, metrics, prime, task"
}

# assert_rolled_back GOOD FAILED_MODE: the newest revision is a deployed rollback with GOOD's
# manifest, the one before it failed, and the api serves without FAIL_HEALTHZ.
assert_rolled_back() {
  local good=$1 history newest before status description
  history=$(helm history "$release" --namespace "$namespace" --max 50 -o json)
  echo "$history" | jq -r '.[] | "revision \(.revision) \(.status): \(.description)"' |
    tee "$out_dir/bad-release-$2/history.txt"
  newest=$(jq -r 'max_by(.revision) | .revision' <<<"$history")
  before=$((newest - 1))
  status=$(jq -r --argjson r "$before" '.[] | select(.revision == $r) | .status' <<<"$history")
  [[ $status == failed ]] || fail "$2: revision $before (the bad release) is '$status' in helm history, expected failed"
  status=$(jq -r --argjson r "$newest" '.[] | select(.revision == $r) | .status' <<<"$history")
  description=$(jq -r --argjson r "$newest" '.[] | select(.revision == $r) | .description' <<<"$history")
  [[ $status == deployed && $description == *"Rollback to $good"* ]] ||
    fail "$2: the newest revision $newest is '$status' ('$description'), expected deployed 'Rollback to $good'"
  if ! diff <(helm get manifest "$release" --namespace "$namespace" --revision "$good") \
    <(helm get manifest "$release" --namespace "$namespace" --revision "$newest") >"$out_dir/bad-release-$2/manifest.diff"; then
    fail "$2: revision $newest does not have the manifest of revision $good: $out_dir/bad-release-$2/manifest.diff"
  fi
  [[ $(kns get configmap api-config -o jsonpath='{.data.FAIL_HEALTHZ}') != true ]] ||
    fail "$2: the api ConfigMap still sets FAIL_HEALTHZ=true after the rollback"
  kns rollout status deployment/api --timeout=180s || fail "$2: the api Deployment did not settle after the rollback"
  smoke "after-bad-release-$2" || fail "$2: smoke tests fail after the rollback: $out_dir/smoke-after-bad-release-$2"
}

drill_bad_release() {
  begin bad-release "an upgrade whose api fails its probes (api.config.FAIL_HEALTHZ=true)"
  local mode good rc args details=()
  for mode in atomic script; do
    good=$(current_revision)
    mkdir -p "$out_dir/bad-release-$mode"
    args=(deploy "${release_values[@]}" --set api.config.FAIL_HEALTHZ=true --timeout "$bad_timeout"
      --out "$out_dir/bad-release-$mode")
    if [[ $mode == atomic ]]; then args+=(--atomic); fi
    log "$mode: upgrade from revision $good (expected to fail after $bad_timeout and be rolled back by $([[ $mode == atomic ]] && echo Helm || echo scripts/deploy.sh))"
    rc=0
    # Expected to fail: plain log lines, no error annotations on a passing run.
    GITHUB_ACTIONS='' deploy_sh "${args[@]}" >"$out_dir/bad-release-$mode/deploy.log" 2>&1 || rc=$?
    sed 's/^/    /' "$out_dir/bad-release-$mode/deploy.log" | tail -n 40
    ((rc == 1)) ||
      fail "$mode: scripts/deploy.sh deploy exited $rc, expected 1 (upgrade failed, rolled back): $out_dir/bad-release-$mode/deploy.log"
    assert_rolled_back "$good" "$mode"
    details+=("$mode: revision $((good + 1)) failed, rolled back to $good's manifest, smoke passed")
  done
  pass "${details[*]}"
}

# redis_cli DB ARGS...: redis-cli in the release's Redis pod (db 0 broker, db 1 results).
redis_cli() {
  local db=$1
  shift
  kns exec deployment/redis -c redis -- redis-cli -n "$db" "$@"
}

worker_pods() {
  kns get pods -l "app.kubernetes.io/instance=$release,app.kubernetes.io/component=worker" \
    --field-selector=status.phase=Running -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}'
}

drill_worker_kill() {
  begin worker-kill "$tasks sleep($task_seconds) tasks, the worker pod deleted mid-batch"
  local dir="$out_dir/worker-kill" ids=() keys=() old_pods=() streams=() pod pid id out status body
  mkdir -p "$dir"
  mapfile -t old_pods < <(worker_pods)
  ((${#old_pods[@]} > 0)) || fail "no running worker pod"
  # Follow the old pods' logs now: they are gone once the pods are deleted.
  for pod in "${old_pods[@]}"; do
    "$kubectl_bin" --namespace "$namespace" logs -f "pod/$pod" --tail=-1 >"$dir/$pod.log" 2>&1 &
    streams+=($!)
    background+=("$!")
  done
  port_forward api 8000 "$dir/port-forward.log"
  local base="http://127.0.0.1:$pf_port" i
  for ((i = 0; i < tasks; i++)); do
    out=$(curl -sS --max-time 10 -X POST -H 'Content-Type: application/json' \
      --data-binary "{\"name\":\"sleep\",\"args\":[$task_seconds]}" -w $'\n%{http_code}' "$base/tasks") ||
      fail "POST /tasks: no answer"
    status=${out##*$'\n'}
    body=${out%$'\n'*}
    [[ $status == 202 && $body =~ \"task_id\"[[:space:]]*:[[:space:]]*\"([A-Za-z0-9_-]+)\" ]] ||
      fail "POST /tasks sleep($task_seconds): expected 202 with a task_id, got $status $body"
    ids+=("${BASH_REMATCH[1]}")
    keys+=("celery-task-meta-${BASH_REMATCH[1]}")
  done
  printf '%s\n' "${ids[@]}" >"$dir/task-ids.txt"
  stop_pid "$pf_pid"
  log "enqueued ${#ids[@]} tasks"

  # Mid-batch: once the first results are stored, before the last.
  local done_count=0 waited=0
  while ((done_count == 0 && waited < 120)); do
    sleep 0.5
    waited=$((waited + 1))
    done_count=$(redis_cli 1 EXISTS "${keys[@]}")
  done
  ((done_count > 0)) || fail "no task finished within 60 s of being enqueued"
  ((done_count < tasks)) ||
    fail "all $tasks tasks finished before the worker could be deleted: raise --tasks or --task-seconds"
  local stored_at_kill=$done_count
  log "$done_count of $tasks results stored: deleting worker pod(s) ${old_pods[*]}"
  kns delete pod "${old_pods[@]}" --wait=false
  kns wait --for=delete "${old_pods[@]/#/pod/}" --timeout=120s ||
    fail "the deleted worker pod(s) did not terminate within 120 s"
  # The log streams end with the containers; give them a bounded time to drain.
  for pid in "${streams[@]}"; do
    waited=0
    while kill -0 "$pid" 2>/dev/null && ((waited < 60)); do
      sleep 1
      waited=$((waited + 1))
    done
    stop_pid "$pid"
  done

  # Every result, from the old worker or its replacement, within a bounded time.
  local deadline=$((SECONDS + 120 + tasks * task_seconds))
  while true; do
    done_count=$(redis_cli 1 EXISTS "${keys[@]}")
    ((done_count < tasks)) || break
    ((SECONDS < deadline)) ||
      fail "only $done_count of $tasks results in Redis $((120 + tasks * task_seconds)) s after the kill"
    sleep 2
  done
  local success
  success=$(redis_cli 1 MGET "${keys[@]}" | grep -cE '"status": ?"SUCCESS"' || true)
  ((success == tasks)) || fail "$success of $tasks results are SUCCESS in Redis: $(redis_cli 1 MGET "${keys[@]}" | grep -vE '"status": ?"SUCCESS"' | head -n 3)"

  # Exactly once: each task finished once over the logs of every worker that ran.
  local new_pods=()
  mapfile -t new_pods < <(worker_pods)
  for pod in "${new_pods[@]}"; do
    kns logs "pod/$pod" --tail=-1 >"$dir/$pod.log" 2>&1 || fail "kubectl logs pod/$pod failed"
  done
  cat "$dir"/*.log | jq -Rr 'fromjson? | objects | select(.msg == "task finished" and .state == "SUCCESS") | .id' |
    sort | uniq -c >"$dir/finished-count.txt"
  local runs problems=()
  for id in "${ids[@]}"; do
    runs=$(awk -v id="$id" '$2 == id { print $1 }' "$dir/finished-count.txt")
    [[ ${runs:-0} == 1 ]] || problems+=("$id ran ${runs:-0} times")
  done
  ((${#problems[@]} == 0)) || fail "not exactly once: ${problems[*]:0:5} (logs in $dir)"

  # Nothing left behind in the broker.
  local queued unacked
  waited=0
  while true; do
    queued=$(redis_cli 0 LLEN celery)
    unacked=$(redis_cli 0 HLEN unacked)
    [[ $queued == 0 && $unacked == 0 ]] && break
    ((waited < 15)) || fail "the broker still holds $queued queued and $unacked unacked messages"
    sleep 1
    waited=$((waited + 1))
  done
  pass "$tasks/$tasks SUCCESS in Redis, each run exactly once; ${old_pods[*]} deleted with $stored_at_kill/$tasks done, replaced by ${new_pods[*]}"
}

drill_hpa() {
  begin hpa "/burn load: the api HPA must scale above 1 replica within $hpa_timeout s"
  local dir="$out_dir/hpa" utilization='' replicas=1 waited=0 image
  mkdir -p "$dir"
  # metrics-server needs a scrape or two before the HPA sees the api's CPU.
  while [[ -z $utilization ]]; do
    utilization=$(kns get hpa api -o jsonpath='{.status.currentMetrics[0].resource.current.averageUtilization}' 2>/dev/null || true)
    [[ -z $utilization ]] || break
    ((waited < 240)) || fail "the api HPA has no CPU metric after 240 s (metrics-server): $(kns describe hpa api | tail -n 5 | tr '\n' ' ')"
    sleep 5
    waited=$((waited + 5))
  done
  # Start from one replica (an earlier burst would still be inside the 300 s scale-down window).
  waited=0
  while true; do
    replicas=$(kns get hpa api -o jsonpath='{.status.currentReplicas}')
    ((${replicas:-0} != 1)) || break
    ((waited < 420)) || fail "the api HPA is at ${replicas:-?} replicas before any load, expected 1"
    sleep 10
    waited=$((waited + 10))
  done
  log "api at ${utilization}% CPU of its request, 1 replica: starting the load"
  # The chart's test image (sh + curl), labelled as its smoke-test component: the chart's
  # NetworkPolicies let exactly that component reach the api.
  image=$(helm get values "$release" --namespace "$namespace" --all -o json |
    jq -r '.tests.image.repository + ":" + .tests.image.tag')
  kns apply -f - >/dev/null <<EOF || fail "could not create the load pod"
apiVersion: v1
kind: Pod
metadata:
  name: e2e-burn
  labels:
    app.kubernetes.io/name: october
    app.kubernetes.io/instance: $release
    app.kubernetes.io/component: smoke-test
spec:
  restartPolicy: Never
  automountServiceAccountToken: false
  securityContext:
    runAsNonRoot: true
    runAsUser: 65532
    runAsGroup: 65532
    seccompProfile:
      type: RuntimeDefault
  containers:
    - name: burn
      image: $image
      command: [/bin/sh, -c]
      args:
        - |
          for worker in 1 2 3; do
            (while true; do curl -s -o /dev/null --max-time 30 "\$API_URL/burn?seconds=10"; done) &
          done
          wait
      env:
        - name: API_URL
          value: http://api.$namespace.svc:8000
      resources:
        requests: {cpu: 10m, memory: 16Mi}
        limits: {cpu: 200m, memory: 64Mi}
      securityContext:
        allowPrivilegeEscalation: false
        readOnlyRootFilesystem: true
        capabilities:
          drop: [ALL]
EOF
  kns wait --for=condition=Ready pod/e2e-burn --timeout=120s || fail "the load pod did not start"
  local start=$SECONDS
  while true; do
    replicas=$(kns get hpa api -o jsonpath='{.status.currentReplicas}')
    replicas=${replicas:-0}
    utilization=$(kns get hpa api -o jsonpath='{.status.currentMetrics[0].resource.current.averageUtilization}')
    echo "$((SECONDS - start)) s: ${utilization:-?}% CPU, $replicas replica(s)" | tee -a "$dir/hpa.txt"
    ((replicas <= 1)) || break
    ((SECONDS - start < hpa_timeout)) ||
      fail "the api HPA stayed at $replicas replica(s) for $hpa_timeout s under /burn load (${utilization:-?}% CPU)"
    sleep 5
  done
  kns describe hpa api >"$dir/describe-hpa.txt" 2>&1 || true
  kns delete pod e2e-burn --wait=false >/dev/null
  pass "$replicas replicas after $((SECONDS - start)) s (${utilization}% CPU of the request)"
}

cmd_run() {
  mkdir -p "$out_dir"
  if [[ $install_kind_first == true ]]; then cmd_install_kind; fi
  choose_engine
  require_tools kind "$kubectl_bin" "$helm_bin" jq curl "$engine"
  check_tool_versions
  tag=${tag:-e2e-$(date -u +%Y%m%d%H%M%S)}
  set_release_values
  trap on_exit EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  # Before the long image build: a refused cache stops the run in seconds.
  node_image
  build_images
  create_cluster
  load_images
  install_metrics_server
  install_release
  if wants helm-test; then drill_helm_test; fi
  if wants smoke; then drill_smoke; fi
  if wants bad-release; then drill_bad_release; fi
  if wants worker-kill; then drill_worker_kill; fi
  if wants hpa; then drill_hpa; fi
  current=finished
  log "all drills passed in $((SECONDS - started_at)) s"
}

case $command in
  versions) cmd_versions ;;
  install-kind) cmd_install_kind ;;
  delete)
    choose_engine
    require_tools kind
    kind delete cluster --name "$cluster"
    ;;
  run) cmd_run ;;
esac
