#!/usr/bin/env bash
# Collects what is needed to understand a failed deploy into one folder: cluster objects, pod
# descriptions, container logs (current and previous), events, and the Helm release's status,
# history, values and manifest. scripts/deploy.sh calls it on every failure; the CD workflow
# uploads the folder as an artifact. Best effort: a command that fails is recorded in its file
# and the collection goes on.
#
# Usage: scripts/diagnostics.sh [--namespace NS] [--release NAME] [--out DIR] [--tail N]
#   --namespace NS   default october
#   --release NAME   Helm release, default app
#   --out DIR        default build/deploy/diagnostics
#   --tail N         log lines per container, default 500
# Environment: HELM, KUBECTL (default helm and kubectl from PATH).
#
# Secrets stay out of the folder: Secret objects are dropped from the manifest, values under
# `secrets:` and passwords in URLs are replaced by <redacted>, `kubectl get` lists Secret names
# only.
set -euo pipefail

namespace=october
release=app
out=build/deploy/diagnostics
tail_lines=500
helm_bin=${HELM:-helm}
kubectl_bin=${KUBECTL:-kubectl}

die_usage() {
  echo "diagnostics: $1" >&2
  sed -n '8,13p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
while (($#)); do
  case $1 in
    --namespace | --release | --out | --tail)
      (($# >= 2)) || die_usage "$1 needs a value"
      case $1 in
        --namespace) namespace=$2 ;;
        --release) release=$2 ;;
        --out) out=$2 ;;
        --tail) tail_lines=$2 ;;
      esac
      shift
      ;;
    -h | --help)
      sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *) die_usage "unknown argument '$1'" ;;
  esac
  shift
done
[[ $namespace =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]] || die_usage "bad namespace '$namespace'"
[[ $release =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]] || die_usage "bad release '$release'"
[[ $tail_lines =~ ^[0-9]+$ ]] || die_usage "--tail needs a whole number"

mkdir -p "$out/logs"
failures=0
# Each kube call gets a bound, so an unreachable API server cannot hang a CI job.
kube_timeout=(--request-timeout=30s)

# capture [--optional] FILE TOOL ARGS...: runs the tool, writes its command line and output to
# FILE. An --optional command may fail without counting as a failure (no previous container).
capture() {
  local optional=false file rc=0
  if [[ $1 == --optional ]]; then
    optional=true
    shift
  fi
  file=$1
  shift
  {
    echo "\$ $*"
    timeout 60 "$@" 2>&1 || rc=$?
    if ((rc != 0)); then echo "(exit $rc)"; fi
  } >"$out/$file"
  if ((rc != 0)) && [[ $optional == false ]]; then
    failures=$((failures + 1))
    echo "diagnostics: $file (exit $rc)"
  else
    echo "diagnostics: $file"
  fi
  return 0
}

# redact: masks passwords in URLs and every value nested under a `secrets:` key.
redact() {
  sed -E 's#(://[^:/@[:space:]]*:)[^@[:space:]]+@#\1<redacted>@#g' |
    awk '
      /^[[:space:]]*secrets:[[:space:]]*$/ { print; match($0, /^[[:space:]]*/); depth = RLENGTH; inside = 1; next }
      inside {
        match($0, /^[[:space:]]*/)
        if ($0 ~ /^[[:space:]]*$/ || RLENGTH > depth) {
          if (match($0, /^[[:space:]]*[^:[:space:]]+:/)) { print substr($0, 1, RLENGTH) " <redacted>"; next }
          print; next
        }
        inside = 0
      }
      { print }'
}

# drop_secrets: removes Secret documents from a multi-document manifest.
drop_secrets() {
  awk '
    function flush() { if (doc != "" && !secret) printf "%s", doc; doc = ""; secret = 0 }
    /^---/ { flush(); doc = $0 "\n"; next }
    /^kind:[[:space:]]*Secret[[:space:]]*$/ { secret = 1 }
    { doc = doc $0 "\n" }
    END { flush() }'
}

capture get-all.txt "$kubectl_bin" --namespace "$namespace" get all -o wide "${kube_timeout[@]}"
capture get-other.txt "$kubectl_bin" --namespace "$namespace" \
  get ingress,pvc,hpa,pdb,networkpolicy,configmap,secret -o wide "${kube_timeout[@]}"
capture describe-pods.txt "$kubectl_bin" --namespace "$namespace" describe pods "${kube_timeout[@]}"
capture events.txt "$kubectl_bin" --namespace "$namespace" \
  get events --sort-by=.lastTimestamp "${kube_timeout[@]}"

pods=()
if pod_list=$(timeout 60 "$kubectl_bin" --namespace "$namespace" get pods -o name "${kube_timeout[@]}" 2>&1); then
  mapfile -t pods < <(grep '^pod/' <<<"$pod_list" || true)
else
  echo "diagnostics: cannot list pods: $pod_list" >&2
  failures=$((failures + 1))
fi
for pod in "${pods[@]}"; do
  name=${pod#pod/}
  capture "logs/$name.log" "$kubectl_bin" --namespace "$namespace" logs "$pod" \
    --all-containers --timestamps --tail="$tail_lines" "${kube_timeout[@]}"
  # The container that crashed before the current one: where CrashLoopBackOff explains itself.
  capture --optional "logs/$name.previous.log" "$kubectl_bin" --namespace "$namespace" logs "$pod" \
    --all-containers --timestamps --tail="$tail_lines" --previous "${kube_timeout[@]}"
done

capture helm-status.txt "$helm_bin" status "$release" --namespace "$namespace"
capture helm-history.txt "$helm_bin" history "$release" --namespace "$namespace" --max 20
capture helm-values.yaml "$helm_bin" get values "$release" --namespace "$namespace" --all
capture helm-manifest.yaml "$helm_bin" get manifest "$release" --namespace "$namespace"
redact <"$out/helm-values.yaml" >"$out/helm-values.yaml.tmp" && mv "$out/helm-values.yaml.tmp" "$out/helm-values.yaml"
drop_secrets <"$out/helm-manifest.yaml" | redact >"$out/helm-manifest.yaml.tmp" &&
  mv "$out/helm-manifest.yaml.tmp" "$out/helm-manifest.yaml"

{
  echo "October deploy diagnostics"
  echo "namespace: $namespace, release: $release, collected: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "pods: ${#pods[@]}; commands that failed: $failures"
  echo
  (cd "$out" && find . -type f ! -name README.txt | sort)
} >"$out/README.txt"
echo "diagnostics: written to $out (${#pods[@]} pods, $failures failed commands)"
