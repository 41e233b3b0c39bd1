#!/usr/bin/env bash
# Builds both configurations and runs the tests: everything (ctest) on the
# Release build (and, on a CPU above AVX2, the engine's unit and conformance
# tests again with oneDNN limited to AVX2), then the unit, command-line and
# server integration tests on the ASan+UBSan build (the slower conformance
# tests are skipped there).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/build.sh"
"$root/scripts/build.sh" --asan

echo "== tests (Release build)"
(cd "$root/build" && ctest --output-on-failure -j2)

# oneDNN dispatches to the best instruction set the CPU has (AVX-512, bf16, AMX
# kernels); on such a CPU the engine's tests run again on the AVX2 kernels, so
# one machine covers both paths (the bf16 tests report themselves skipped there).
isa="$("$root/build/server/cnnserve" version | sed -n 's/.*ISA \([a-z0-9_]*\).*/\1/p')"
case "$isa" in
  avx512*|*amx*)
    echo "== engine unit and conformance tests with oneDNN limited to AVX2 (this CPU: $isa)"
    (cd "$root/build" && ONEDNN_MAX_CPU_ISA=AVX2 ctest --output-on-failure -j2 -R '^(unit|conformance)\.') ;;
  *)
    echo "== oneDNN uses $isa on this CPU: no run limited to AVX2 needed" ;;
esac

echo "== unit, CLI and server integration tests (ASan+UBSan build)"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
(cd "$root/build-asan" && ctest --output-on-failure -j2 -R '^(unit|cli|integration)\.')

echo "== fuzzing (libFuzzer, short runs)"
"$root/scripts/fuzz.sh" "${CNN_FUZZ_SECONDS:-15}"
