#!/usr/bin/env bash
# Static checks: clang-format (no diff), clang-tidy on every translation unit, shellcheck, and
# include-what-you-use on every header (scripts/check-includes.sh).
# Usage: scripts/lint.sh [build-dir-with-compile_commands.json] [--format-only]
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:-build/release}
mode=${2:-all}

mapfile -t sources < <(git ls-files 'src/*.cpp' 'src/*.hpp' 'tests/*.cpp' 'bench/*.cpp')
echo "lint: clang-format on ${#sources[@]} files"
clang-format --dry-run --Werror "${sources[@]}"

mapfile -t scripts < <(git ls-files '*.sh' .ci/run)
echo "lint: shellcheck on ${#scripts[@]} scripts"
shellcheck "${scripts[@]}"

[[ $mode == --format-only ]] && exit 0

mapfile -t units < <(git ls-files 'src/*.cpp')
echo "lint: clang-tidy on ${#units[@]} translation units"
printf '%s\n' "${units[@]}" | xargs -P "$(nproc)" -n 1 clang-tidy --quiet -p "$build_dir"
echo "lint: include-what-you-use"
bash scripts/check-includes.sh "$build_dir"
echo "lint: clean"
