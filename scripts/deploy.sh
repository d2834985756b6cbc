#!/usr/bin/env bash
# Deploys October to a Kubernetes cluster with Helm. This is the one code path for delivery: the
# CD workflow (.github/workflows/cd.yml) and the Makefile targets (helm-*, cd-dev*, smoke-*) all
# call it, so what a developer runs against minikube is what CI runs against the dev cluster.
#
# Usage: scripts/deploy.sh COMMAND [options]
#
# Commands:
#   deploy       lint, template preview, helm upgrade --install, smoke; when the upgrade fails the
#                release is rolled back (by Helm with --atomic, else by this script); when smoke
#                fails after a good upgrade, rolls back to the last good revision
#   lint         helm lint --strict with the environment's values
#   template     render the chart as `deploy` would install it (preview), into --out
#   upgrade      helm upgrade --install only (no smoke, no rollback of our own)
#   smoke        scripts/smoke.sh through the ingress host, falling back to a port-forward
#   history      helm history of the release
#   rollback     helm rollback to --revision REV, or to the last good revision before the current
#   diagnostics  collect cluster and release state into --out (scripts/diagnostics.sh)
#   ci-setup     CI only: check DEV_KUBECONFIG (base64), DEV_NAMESPACE and DEV_INGRESS_HOST, write
#                the kubeconfig to --kubeconfig-out and export KUBECONFIG through $GITHUB_ENV
#
# Options:
#   -n, --namespace NS     namespace (default october)
#   -r, --release NAME     Helm release (default app)
#   --chart DIR            chart directory (default deploy/helm/api)
#   --env NAME             values file CHART/values-NAME.yaml (default dev)
#   --host HOST            ingress host: --set api.ingress.host=HOST, and the smoke target
#   --image-tag TAG        api.image.tag and worker.image.tag (default: the values file's)
#   --registry REG         image repositories REG/october-api and REG/october-worker
#   --set KEY=VALUE        one more chart value (repeatable)
#   --atomic               let Helm roll back a failed upgrade itself: --atomic on Helm 3,
#                          --rollback-on-failure on Helm 4
#   --timeout DURATION     Helm wait timeout (default 5m)
#   --history-max N        revisions Helm keeps (default 10)
#   --smoke-via MODE       auto (ingress, then port-forward), ingress or port-forward (default
#                          auto; port-forward when there is no host)
#   --smoke-retries N      extra smoke passes while a rollout settles (default 5)
#   --smoke-delay S        seconds between smoke passes (default 5)
#   --smoke-timeout S      per-request limit of the smoke checks (default 10)
#   --service NAME         api Service for the port-forward (default api)
#   --service-port PORT    its port (default 8000)
#   --local-port PORT      local port of the port-forward (default: any free port)
#   --revision REV         rollback target
#   --out DIR              rendered manifest, diagnostics and summary (default build/deploy)
#   --kubeconfig-out FILE  ci-setup: where the decoded kubeconfig goes
#                          (default $RUNNER_TEMP/kubeconfig)
#
# Environment: HELM, KUBECTL (the binaries, default helm and kubectl from PATH), SMOKE_SCRIPT
# (default scripts/smoke.sh), GITHUB_ACTIONS / GITHUB_STEP_SUMMARY / GITHUB_OUTPUT / GITHUB_ENV
# (log groups, job summary and step outputs in GitHub Actions). Relative paths are relative to
# the repository root.
#
# Exit status: 0 success; 1 lint, template or upgrade failed (release rolled back); 2 bad usage
# or missing configuration; 3 smoke failed and the release was rolled back to the last good
# revision; 4 smoke failed and there was nothing to roll back to, or the rollback failed.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"

helm_bin=${HELM:-helm}
kubectl_bin=${KUBECTL:-kubectl}
smoke_script=${SMOKE_SCRIPT:-scripts/smoke.sh}

command=
namespace=october
release=app
chart=deploy/helm/api
env_name=dev
host=
image_tag=
registry=
extra_sets=()
atomic=false
timeout=5m
history_max=10
smoke_via=auto
smoke_retries=5
smoke_delay=5
smoke_timeout=10
service=api
service_port=8000
local_port=
revision=
out_dir=build/deploy
kubeconfig_out=

report_name=deploy
report_help="scripts/deploy.sh help"
# shellcheck source=lib/report.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/report.sh"

# --- arguments -------------------------------------------------------------------------------
if (($# == 0)); then
  usage
  exit 2
fi
command=$1
shift
case $command in
  deploy | lint | template | upgrade | smoke | history | rollback | diagnostics | ci-setup) ;;
  help | -h | --help)
    usage
    exit 0
    ;;
  *) die_usage "unknown command '$command'" ;;
esac
while (($#)); do
  case $1 in
    -n | --namespace) need_value "$1" $# && namespace=$2 && shift ;;
    -r | --release) need_value "$1" $# && release=$2 && shift ;;
    --chart) need_value "$1" $# && chart=$2 && shift ;;
    --env) need_value "$1" $# && env_name=$2 && shift ;;
    --host) need_value "$1" $# && host=$2 && shift ;;
    --image-tag) need_value "$1" $# && image_tag=$2 && shift ;;
    --registry) need_value "$1" $# && registry=$2 && shift ;;
    --set) need_value "$1" $# && extra_sets+=("$2") && shift ;;
    --atomic) atomic=true ;;
    --timeout) need_value "$1" $# && timeout=$2 && shift ;;
    --history-max) need_value "$1" $# && history_max=$2 && shift ;;
    --smoke-via) need_value "$1" $# && smoke_via=$2 && shift ;;
    --smoke-retries) need_value "$1" $# && smoke_retries=$2 && shift ;;
    --smoke-delay) need_value "$1" $# && smoke_delay=$2 && shift ;;
    --smoke-timeout) need_value "$1" $# && smoke_timeout=$2 && shift ;;
    --service) need_value "$1" $# && service=$2 && shift ;;
    --service-port) need_value "$1" $# && service_port=$2 && shift ;;
    --local-port) need_value "$1" $# && local_port=$2 && shift ;;
    --revision) need_value "$1" $# && revision=$2 && shift ;;
    --out) need_value "$1" $# && out_dir=$2 && shift ;;
    --kubeconfig-out) need_value "$1" $# && kubeconfig_out=$2 && shift ;;
    -h | --help)
      usage
      exit 0
      ;;
    *) die_usage "unknown argument '$1'" ;;
  esac
  shift
done

# Values end up in helm/kubectl arguments and in the job summary: accept only what Kubernetes,
# DNS and the OCI distribution spec allow, so a typo fails here with a sentence, not in Helm.
dns_label='^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$'
[[ $namespace =~ $dns_label ]] || die_usage "--namespace '$namespace' is not a Kubernetes namespace name (lowercase letters, digits, '-', at most 63)"
[[ $release =~ ^[a-z0-9]([-a-z0-9]{0,51}[a-z0-9])?$ ]] || die_usage "--release '$release' is not a Helm release name (lowercase letters, digits, '-', at most 53)"
[[ $service =~ $dns_label ]] || die_usage "--service '$service' is not a Service name"
if [[ -n $host ]] && ! [[ $host =~ ^[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?(:[0-9]{1,5})?$ ]]; then
  die_usage "--host '$host' is not a host name (give the bare ingress host, e.g. api.192.168.49.2.nip.io, without http://)"
fi
if [[ -n $image_tag ]] && ! [[ $image_tag =~ ^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$ ]]; then
  die_usage "--image-tag '$image_tag' is not a valid image tag (letters, digits, '_', '.', '-'; at most 128)"
fi
if [[ -n $registry ]] && ! [[ $registry =~ ^[a-z0-9]([a-z0-9._:-]*[a-z0-9])?(/[a-z0-9]([a-z0-9._-]*[a-z0-9])?)*$ ]]; then
  die_usage "--registry '$registry' is not a lowercase registry path such as ghcr.io/owner"
fi
[[ $atomic == true || $atomic == false ]]
[[ $history_max =~ ^[0-9]+$ ]] || die_usage "--history-max needs a whole number, got '$history_max'"
[[ $timeout =~ ^[0-9]+(s|m|h)$|^[0-9]+m[0-9]+s$ ]] || die_usage "--timeout needs a duration such as 5m or 300s, got '$timeout'"
case $smoke_via in auto | ingress | port-forward) ;; *) die_usage "--smoke-via must be auto, ingress or port-forward" ;; esac
for pair in "smoke-retries:$smoke_retries" "service-port:$service_port" "local-port:${local_port:-0}"; do
  [[ ${pair#*:} =~ ^[0-9]+$ ]] || die_usage "--${pair%%:*} needs a whole number, got '${pair#*:}'"
done
[[ -z $revision || $revision =~ ^[1-9][0-9]*$ ]] || die_usage "--revision needs a revision number, got '$revision'"
for set_arg in "${extra_sets[@]}"; do
  [[ $set_arg == ?*=* ]] || die_usage "--set needs KEY=VALUE, got '$set_arg'"
done

values_file="$chart/values-$env_name.yaml"
ns_args=(--namespace "$namespace")
mkdir -p "$out_dir"

# --- shared pieces ---------------------------------------------------------------------------
helm() { command "$helm_bin" "$@"; }
kubectl() { command "$kubectl_bin" "$@"; }

require_tools() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || {
      error "'$tool' is not installed or not on PATH"
      exit 2
    }
  done
}

# The chart values every helm command shares, in a fixed order.
value_args() {
  [[ -f $values_file ]] || {
    error "values file $values_file not found (--env $env_name, --chart $chart)"
    exit 2
  }
  chart_values=(-f "$values_file")
  if [[ -n $host ]]; then chart_values+=(--set "api.ingress.host=$host"); fi
  if [[ -n $registry ]]; then
    chart_values+=(--set "api.image.repository=$registry/october-api"
      --set "worker.image.repository=$registry/october-worker")
  fi
  if [[ -n $image_tag ]]; then
    chart_values+=(--set "api.image.tag=$image_tag" --set "worker.image.tag=$image_tag")
  fi
  local set_arg
  for set_arg in "${extra_sets[@]}"; do chart_values+=(--set "$set_arg"); done
}

helm_major=
detect_helm() {
  local version
  version=$(helm version --short) || {
    error "'$helm_bin version' failed"
    exit 2
  }
  case $version in
    v3.*) helm_major=3 ;;
    v4.*) helm_major=4 ;;
    *)
      error "unsupported Helm version '$version' (need Helm 3 or 4)"
      exit 2
      ;;
  esac
  helm_version=${version%%+*}
}

# The flag that makes Helm undo a failed upgrade itself.
atomic_flag() { if ((helm_major >= 4)); then echo --rollback-on-failure; else echo --atomic; fi; }

# load_history: reads the release history once into $history, one "REVISION STATUS" line per
# revision, oldest first, and sets $current_rev / $current_status to the newest (all empty when
# the release does not exist). Called again after every change to the release.
history=
current_rev=
current_status=
load_history() {
  local json err="$out_dir/.helm-history.err"
  history=
  current_rev=
  current_status=
  if ! json=$(helm history "$release" "${ns_args[@]}" --max 50 -o json 2>"$err"); then
    # "release: not found" is a first install; anything else (cluster unreachable, RBAC) is
    # worth a warning, and the upgrade that follows fails with the full story.
    grep -q 'not found' "$err" || warn "helm history $release failed: $(tr '\n' ' ' <"$err")"
    return 0
  fi
  history=$(jq -r 'sort_by(.revision) | .[] | "\(.revision) \(.status)"' <<<"$json") || {
    warn "helm history $release -o json gave unreadable output"
    history=
  }
  if [[ -n $history ]]; then read -r current_rev current_status <<<"${history##*$'\n'}"; fi
}

# last_good_before REV: from $history, the newest revision below REV that ran successfully
# (deployed now, or superseded by a later one); empty when there is none. Failed, pending and
# uninstalled revisions never count.
last_good_before() {
  local bound=$1 rev status best=''
  [[ $bound =~ ^[0-9]+$ ]] || return 0
  while read -r rev status; do
    [[ -n $rev ]] || continue
    if ((rev < bound)) && [[ $status == deployed || $status == superseded ]]; then
      best=$rev
    fi
  done <<<"$history"
  echo "$best"
}

# --- job summary and step outputs ------------------------------------------------------------
summary_rows=()
note() { summary_rows+=("$*"); }
outcome=
previous_revision=
new_revision=
smoke_result=
rollback_result=
write_summary() {
  local file="$out_dir/summary.md" emoji mode
  case $outcome in
    deployed) emoji="✅" ;;
    *) emoji="❌" ;;
  esac
  if [[ $atomic == true ]]; then
    mode="atomic ($(atomic_flag)): Helm undoes a failed upgrade"
  else
    mode="not atomic: this script rolls a failed upgrade back"
  fi
  {
    echo "## $emoji Deploy of \`$release\` to \`$namespace\`: ${outcome:-not finished}"
    echo
    echo "| | |"
    echo "|---|---|"
    echo "| chart | \`$chart\` with \`$values_file\` |"
    echo "| images | \`${registry:+$registry/}october-api:${image_tag:-<values>}\`, \`${registry:+$registry/}october-worker:${image_tag:-<values>}\` |"
    echo "| ingress host | ${host:-none} |"
    echo "| helm | ${helm_version:-unknown}; $mode; --timeout $timeout, --history-max $history_max |"
    echo "| revision before | ${previous_revision:-none (first install)} |"
    echo "| revision deployed | ${new_revision:-none} |"
    echo "| smoke | ${smoke_result:-not run} |"
    echo "| rollback | ${rollback_result:-not needed} |"
    echo
    local row
    for row in "${summary_rows[@]}"; do echo "- $row"; done
  } >"$file"
  if [[ -n ${GITHUB_STEP_SUMMARY:-} ]]; then cat "$file" >>"$GITHUB_STEP_SUMMARY"; fi
  if [[ -n ${GITHUB_OUTPUT:-} ]]; then
    {
      echo "outcome=$outcome"
      echo "previous-revision=$previous_revision"
      echo "revision=$new_revision"
      echo "smoke=$smoke_result"
    } >>"$GITHUB_OUTPUT"
  fi
  echo
  cat "$file"
}

collect_diagnostics() {
  group "diagnostics into $out_dir/diagnostics"
  bash scripts/diagnostics.sh --namespace "$namespace" --release "$release" \
    --out "$out_dir/diagnostics" || warn "diagnostics were incomplete"
  endgroup
  note "diagnostics: \`$out_dir/diagnostics\` (uploaded as an artifact in CI)"
}

# --- commands --------------------------------------------------------------------------------
cmd_lint() {
  value_args
  group "helm lint $chart"
  local rc=0
  helm lint "$chart" --strict "${ns_args[@]}" "${chart_values[@]}" || rc=$?
  endgroup
  ((rc == 0)) || error "helm lint failed for $chart with $values_file"
  return "$rc"
}

# redact_secret_data: the values under data:/stringData: of every Secret document become
# <redacted>, so the preview can go to a CI log and an artifact.
redact_secret_data() {
  awk '
    function flush(   i, secret, inside) {
      secret = 0
      for (i = 1; i <= n; i++) if (doc[i] ~ /^kind:[[:space:]]*Secret[[:space:]]*$/) secret = 1
      inside = 0
      for (i = 1; i <= n; i++) {
        if (secret && doc[i] ~ /^(data|stringData):/) { inside = 1; print doc[i]; continue }
        if (inside && doc[i] ~ /^[[:space:]]+[^[:space:]#][^:]*:/) {
          match(doc[i], /^[[:space:]]+[^:]+:/)
          print substr(doc[i], 1, RLENGTH) " <redacted>"
          continue
        }
        if (doc[i] ~ /^[^[:space:]]/) inside = 0
        print doc[i]
      }
      n = 0
    }
    /^---/ { flush() }
    { doc[++n] = $0 }
    END { flush() }'
}

cmd_template() {
  value_args
  local rendered="$out_dir/rendered-$release.yaml" rc=0
  group "helm template $release $chart (preview of what will be applied; Secret data redacted)"
  helm template "$release" "$chart" "${ns_args[@]}" "${chart_values[@]}" |
    redact_secret_data >"$rendered" || rc=$?
  if ((rc == 0)); then
    cat "$rendered"
    log "rendered $(grep -c '^kind:' "$rendered") objects into $rendered"
  fi
  endgroup
  ((rc == 0)) || error "helm template failed for $chart with $values_file"
  return "$rc"
}

# upgrade_cmd: the helm upgrade command line, in upgrade_args.
upgrade_args=()
build_upgrade() {
  value_args
  upgrade_args=(upgrade --install "$release" "$chart" "${ns_args[@]}" --create-namespace
    "${chart_values[@]}" --wait --timeout "$timeout" --history-max "$history_max")
  if [[ $atomic == true ]]; then upgrade_args+=("$(atomic_flag)"); fi
}

cmd_upgrade() {
  detect_helm
  build_upgrade
  group "helm ${upgrade_args[*]}"
  local rc=0
  helm "${upgrade_args[@]}" || rc=$?
  endgroup
  return "$rc"
}

# run_smoke TARGET: scripts/smoke.sh against TARGET.
run_smoke() {
  "$smoke_script" --retries "$smoke_retries" --delay "$smoke_delay" --timeout "$smoke_timeout" "$1"
}

pf_pid=
pf_log=
stop_port_forward() {
  if [[ -n $pf_pid ]]; then
    kill "$pf_pid" 2>/dev/null || true
    wait "$pf_pid" 2>/dev/null || true
    pf_pid=
  fi
}

# smoke_port_forward: kubectl port-forward to the api Service on loopback, smoke through it.
smoke_port_forward() {
  require_tools "$kubectl_bin"
  pf_log="$out_dir/port-forward.log"
  : >"$pf_log"
  # The binary itself in the background (not the kubectl function), so $! is kubectl's pid.
  "$kubectl_bin" "${ns_args[@]}" port-forward --address 127.0.0.1 "svc/$service" \
    "${local_port}:$service_port" >"$pf_log" 2>&1 &
  pf_pid=$!
  local port='' waited=0
  while ((waited < 300)); do
    port=$(sed -n 's/^Forwarding from 127\.0\.0\.1:\([0-9][0-9]*\) -> .*/\1/p' "$pf_log" | head -n 1)
    [[ -z $port ]] || break
    if ! kill -0 "$pf_pid" 2>/dev/null; then break; fi
    sleep 0.1
    waited=$((waited + 1))
  done
  if [[ -z $port ]]; then
    error "kubectl port-forward to svc/$service:$service_port in $namespace did not start: $(tr '\n' ' ' <"$pf_log")"
    stop_port_forward
    return 1
  fi
  log "port-forward 127.0.0.1:$port -> svc/$service:$service_port"
  local rc=0
  run_smoke "127.0.0.1:$port" || rc=$?
  stop_port_forward
  return "$rc"
}

# cmd_smoke: sets smoke_result; returns non-zero when the checks failed every way tried.
cmd_smoke() {
  local via=$smoke_via
  if [[ $via == auto && -z $host ]]; then via='port-forward'; fi
  if [[ $via == ingress && -z $host ]]; then
    error "--smoke-via ingress needs --host"
    exit 2
  fi
  group "smoke tests (${via})"
  local rc=0
  if [[ $via == ingress || $via == auto ]]; then
    if run_smoke "$host"; then
      smoke_result="passed via ingress http://$host"
      endgroup
      return 0
    fi
    rc=1
    if [[ $via == auto ]]; then
      warn "smoke through the ingress http://$host failed; trying a port-forward to svc/$service"
      note "smoke through the ingress http://$host failed; retried through a port-forward"
    fi
  fi
  if [[ $via == port-forward || $via == auto ]]; then
    rc=0
    if smoke_port_forward; then
      smoke_result="passed via port-forward to svc/$service"
      if [[ $via == auto ]]; then
        smoke_result+=" (ingress unreachable or failing: check the Ingress)"
      fi
      endgroup
      return 0
    fi
    rc=1
  fi
  endgroup
  smoke_result="failed"
  return "$rc"
}

# rollback_to REV REASON
rollback_to() {
  group "helm rollback $release $1"
  local rc=0
  helm rollback "$release" "$1" "${ns_args[@]}" --wait --timeout "$timeout" || rc=$?
  endgroup
  return "$rc"
}

cmd_rollback() {
  local target=$revision
  if [[ -z $target ]]; then
    load_history
    if [[ -z $current_rev ]]; then
      error "release $release has no history in namespace $namespace: nothing to roll back (deploy it with 'make helm-up-dev')"
      return 4
    fi
    target=$(last_good_before "$current_rev")
    if [[ -z $target ]]; then
      error "release $release has no good revision before revision $current_rev to roll back to; fix forward, or 'helm uninstall $release -n $namespace' and redeploy"
      return 4
    fi
    log "current revision $current_rev ($current_status); last good revision before it: $target"
  fi
  rollback_to "$target" || {
    error "helm rollback $release $target failed"
    return 1
  }
  helm history "$release" "${ns_args[@]}" --max 5
}

cmd_deploy() {
  require_tools "$helm_bin" "$kubectl_bin" jq
  detect_helm
  summary_on_exit=true
  outcome="lint failed"
  cmd_lint || return 1
  outcome="template failed"
  cmd_template || return 1

  load_history
  if [[ -n $current_rev ]]; then
    previous_revision=$(last_good_before $((current_rev + 1)))
    log "release $release is at revision $current_rev ($current_status); last good revision: ${previous_revision:-none}"
  else
    log "release $release is not installed in $namespace: first install"
  fi

  build_upgrade
  group "helm ${upgrade_args[*]}"
  local rc=0
  helm "${upgrade_args[@]}" || rc=$?
  endgroup
  load_history
  if ((rc != 0)); then
    outcome="upgrade failed"
    error "helm upgrade failed (exit $rc)"
    collect_diagnostics
    if [[ $atomic == true ]]; then
      rollback_result="by Helm ($(atomic_flag)): release now at revision ${current_rev:-none} (${current_status:-not installed})"
      note "Helm undid the failed upgrade itself; with a first install it removes the release"
    elif [[ -z $current_rev ]]; then
      rollback_result="nothing to roll back: the release does not exist"
    else
      local target
      target=$(last_good_before "$current_rev")
      if [[ -z $target ]]; then
        rollback_result="none: no good revision before the failed revision $current_rev (first install failed); fix forward, or helm uninstall $release -n $namespace"
        error "no previous revision of $release to roll back to"
      elif rollback_to "$target"; then
        load_history
        rollback_result="rolled back to revision $target (now revision ${current_rev:-?}, ${current_status:-?})"
      else
        rollback_result="helm rollback to revision $target FAILED: act by hand (docs/CI_CD.md, Rollback)"
      fi
    fi
    return 1
  fi
  new_revision=$current_rev
  log "revision $new_revision is $current_status"

  if cmd_smoke; then
    outcome="deployed"
    return 0
  fi
  outcome="smoke failed"
  error "smoke tests failed after revision $new_revision was deployed"
  collect_diagnostics
  local target
  target=$(last_good_before "$new_revision")
  if [[ -z $target ]]; then
    rollback_result="none: revision $new_revision is the first good revision of $release, there is no previous revision to roll back to; it stays for inspection (fix forward, or helm uninstall $release -n $namespace)"
    error "no previous revision of $release to roll back to: revision $new_revision stays deployed"
    return 4
  fi
  if rollback_to "$target"; then
    load_history
    outcome="smoke failed, rolled back"
    rollback_result="rolled back to revision $target (now revision ${current_rev:-?}, ${current_status:-?})"
    return 3
  fi
  rollback_result="helm rollback to revision $target FAILED: act by hand (docs/CI_CD.md, Rollback)"
  error "helm rollback to revision $target failed"
  return 4
}

cmd_ci_setup() {
  local missing=() name
  for name in DEV_KUBECONFIG DEV_NAMESPACE DEV_INGRESS_HOST; do
    [[ -n ${!name:-} ]] || missing+=("$name")
  done
  if ((${#missing[@]})); then
    for name in "${missing[@]}"; do
      error "secret $name is missing or empty: add it under Settings > Secrets and variables > Actions (or the 'dev' environment), see docs/CI_CD.md#secrets"
    done
    exit 2
  fi
  [[ $DEV_NAMESPACE =~ $dns_label ]] || {
    error "secret DEV_NAMESPACE is not a Kubernetes namespace name (lowercase letters, digits, '-')"
    exit 2
  }
  [[ $DEV_INGRESS_HOST =~ ^[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?(:[0-9]{1,5})?$ ]] || {
    error "secret DEV_INGRESS_HOST must be a bare host name such as api.192.168.49.2.nip.io (no http://, no path)"
    exit 2
  }
  local file=${kubeconfig_out:-${RUNNER_TEMP:-/tmp}/kubeconfig}
  (umask 077 && : >"$file")
  if ! tr -d ' \r\n\t' <<<"$DEV_KUBECONFIG" | base64 -d >"$file" 2>/dev/null; then
    rm -f "$file"
    error "secret DEV_KUBECONFIG is not valid base64; create it with: kubectl config view --flatten --minify | base64 -w0"
    exit 2
  fi
  if ! grep -q '^clusters:' "$file" || ! grep -q 'server:' "$file"; then
    rm -f "$file"
    error "secret DEV_KUBECONFIG does not decode to a kubeconfig (no clusters/server); create it with: kubectl config view --flatten --minify | base64 -w0"
    exit 2
  fi
  chmod 600 "$file"
  if [[ -n ${GITHUB_ENV:-} ]]; then echo "KUBECONFIG=$file" >>"$GITHUB_ENV"; fi
  log "secrets present; kubeconfig written to $file"
}

# One EXIT handler: no port-forward outlives the script, and `deploy` always leaves a summary.
summary_on_exit=false
on_exit() {
  stop_port_forward
  if [[ $summary_on_exit == true ]]; then write_summary; fi
}
trap on_exit EXIT

case $command in
  lint)
    require_tools "$helm_bin"
    cmd_lint
    ;;
  template)
    require_tools "$helm_bin"
    cmd_template
    ;;
  upgrade)
    require_tools "$helm_bin"
    cmd_upgrade
    ;;
  smoke)
    rc=0
    cmd_smoke || rc=$?
    log "smoke: ${smoke_result}"
    exit "$rc"
    ;;
  history)
    require_tools "$helm_bin"
    helm history "$release" "${ns_args[@]}"
    ;;
  rollback)
    require_tools "$helm_bin" jq
    cmd_rollback
    ;;
  diagnostics)
    bash scripts/diagnostics.sh --namespace "$namespace" --release "$release" --out "$out_dir/diagnostics"
    ;;
  deploy)
    rc=0
    cmd_deploy || rc=$?
    exit "$rc"
    ;;
  ci-setup) cmd_ci_setup ;;
esac
