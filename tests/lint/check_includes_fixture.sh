#!/usr/bin/env bash
# The include check fails on a broken variant: over tests/lint/fixtures, where title.hpp uses
# std::string through label.hpp's include, check-includes.sh must exit 1 naming title.hpp and
# accept label.hpp, which includes what it uses.
set -euo pipefail
cd "$(dirname "$0")/../.."
fixtures=$PWD/tests/lint/fixtures
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

entries=()
for unit in "$fixtures"/*.cpp; do
  entries+=("{\"directory\": \"$work\", \"file\": \"$unit\",
    \"command\": \"c++ -std=c++20 -I$fixtures -c $unit -o $work/$(basename "$unit").o\"}")
done
(IFS=,; echo "[${entries[*]}]") >"$work/compile_commands.json"

set +e
output=$(bash scripts/check-includes.sh "$work" --root "$fixtures" 2>&1)
status=$?
set -e
echo "$output"
fail() { echo "check_includes_fixture: $1" >&2; exit 1; }
((status == 1)) || fail "expected exit 1 on the broken fixture, got $status"
grep -q 'title.hpp: #include <string>' <<<"$output" || fail "title.hpp's missing <string> not reported"
if grep -q 'label.hpp:' <<<"$output"; then fail "label.hpp reported though it is complete"; fi
echo "check_includes_fixture: the broken header is refused, the complete one accepted"
