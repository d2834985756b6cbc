#!/usr/bin/env bash
# Every header under src/ includes what it uses: include-what-you-use (IWYU) runs on every
# translation unit and this fails when it asks a header to add an include. Headers are the
# contract other files compile against, so they are held to it; for .cpp files IWYU's libstdc++
# and hiredis tables are too rough (it asks for <read.h> and <ctime> for size_t), so their
# suggestions are printed with --all but do not fail. IWYU reports a header together with its
# .cpp of the same name, so a header without one is refused rather than silently unchecked.
# Usage: scripts/check-includes.sh [build-dir-with-compile_commands.json] [--all] [--root DIR]
#   --root DIR  check the sources under DIR instead of src/ (the negative fixture uses it)
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=build/release show_all="" root=src
while (($#)); do
  case $1 in
    --all) show_all=--all ;;
    --root) root=${2:?--root needs a directory}; shift ;;
    -*) echo "check-includes: unknown option '$1'" >&2; exit 2 ;;
    *) build_dir=$1 ;;
  esac
  shift
done

for tool in iwyu_tool include-what-you-use; do
  command -v "$tool" >/dev/null || { echo "check-includes: $tool not found (scripts/bootstrap.sh installs iwyu)" >&2; exit 2; }
done
[[ -f $build_dir/compile_commands.json ]] ||
  { echo "check-includes: no $build_dir/compile_commands.json (configure first)" >&2; exit 2; }

status=0
while read -r header; do
  if [[ ! -f ${header%.hpp}.cpp ]]; then
    echo "check-includes: $header has no ${header##*/} .cpp beside it, so IWYU never checks it" >&2
    status=1
  fi
done < <(find "$root" -name '*.hpp' | sort)

mapfile -t units < <(find "$(realpath "$root")" -name '*.cpp' | sort)
report=$(iwyu_tool -p "$build_dir" -j "$(nproc)" "${units[@]}" -- \
  -Xiwyu --no_fwd_decls -Xiwyu --cxx17ns -Xiwyu "--mapping_file=$PWD/.iwyu.imp" 2>&1) || true

# A block starts at "<file> should add these lines:" and ends at the "should remove" line.
missing=$(awk -v root="$PWD/" -v all="$show_all" '
  / should add these lines:$/ { file = $1; sub(root, "", file); adding = 1; next }
  / should remove these lines:$/ { adding = 0; next }
  adding && NF && (file ~ /\.hpp$/ || all == "--all") { print file ": " $0 }
' <<<"$report")
if grep -q 'error:' <<<"$report"; then
  grep 'error:' <<<"$report" >&2
  echo "check-includes: IWYU could not parse every translation unit" >&2
  status=1
fi
if [[ -n $missing ]]; then
  echo "$missing"
  if grep -q '\.hpp: ' <<<"$missing"; then
    echo "check-includes: the headers above use what they do not include" >&2
    status=1
  fi
fi
((status == 0)) && echo "check-includes: every header includes what it uses (${#units[@]} units)"
exit "$status"
