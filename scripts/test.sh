#!/usr/bin/env bash
# Builds both configurations and runs the tests: everything (ctest) on the
# Release build, then the unit, command-line and server integration tests on
# the ASan+UBSan build (the slower conformance tests are skipped there).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/build.sh"
"$root/scripts/build.sh" --asan

echo "== tests (Release build)"
(cd "$root/build" && ctest --output-on-failure -j2)

echo "== unit, CLI and server integration tests (ASan+UBSan build)"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
(cd "$root/build-asan" && ctest --output-on-failure -j2 -R '^(unit|cli|integration)\.')

echo "== fuzzing (libFuzzer, short runs)"
"$root/scripts/fuzz.sh" "${CNN_FUZZ_SECONDS:-15}"
