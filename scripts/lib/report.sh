# How the delivery scripts (scripts/deploy.sh, tests/e2e/kind.sh) talk: lines prefixed with the
# script's name on a terminal, GitHub Actions annotations and collapsible log groups inside a
# workflow, so a failure shows on the run's summary page. Sourced after the caller sets
# report_name (the prefix) and report_help (the command that prints its usage).
# shellcheck shell=bash
: "${report_name:?set report_name before sourcing report.sh}" "${report_help:?set report_help too}"

# The usage text: the script's header comment, from line 2 to `set -euo pipefail`.
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
die_usage() {
  echo "$report_name: $1" >&2
  echo "$report_name: see '$report_help'" >&2
  exit 2
}
# need_value OPTION ARGC: an option that takes a value has one after it.
need_value() { (($2 >= 2)) || die_usage "$1 needs a value"; }

in_actions() { [[ ${GITHUB_ACTIONS:-} == true ]]; }
log() { echo "$report_name: $*"; }
warn() {
  if in_actions; then echo "::warning title=$report_name::$*"; else echo "$report_name: warning: $*" >&2; fi
}
error() {
  if in_actions; then echo "::error title=$report_name::$*"; else echo "$report_name: error: $*" >&2; fi
}
group() { if in_actions; then echo "::group::$*"; else echo "==> $*"; fi; }
endgroup() { if in_actions; then echo "::endgroup::"; fi; }
