#!/usr/bin/env bash
# run-tests.sh — the whole test suite: builds brook, runs every meson test
# suite, then the same suite under AddressSanitizer + UndefinedBehaviorSanitizer,
# then the request-decoder fuzzer for a bounded time. Prints one closing line
# "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")"
./install-deps.sh || exit 1

passed=0
failed=0
count() { # meson's JSON test log -> totals
  local f=$1
  [ -f "$f" ] || return 0
  local p q
  p=$(grep -c '"result": "OK"' "$f" || true)
  q=$(grep -c -E '"result": "(FAIL|TIMEOUT|ERROR|UNEXPECTEDPASS)"' "$f" || true)
  passed=$((passed + p))
  failed=$((failed + q))
}

run_suite() { # builddir, extra meson setup args...
  local dir=$1
  shift
  if [ ! -d "$dir" ]; then meson setup "$dir" "$@" >/dev/null || { failed=$((failed + 1)); return; }; fi
  ninja -C "$dir" || { failed=$((failed + 1)); return; }
  meson test -C "$dir" --no-rebuild --print-errorlogs --num-processes 2
  count "$dir/meson-logs/testlog.json"
}

echo "=== build + tests"
run_suite build
echo "=== build + tests under ASan+UBSan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  run_suite build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug

echo "=== fuzzing the request decoder (bounded)"
if [ ! -d build-fuzz ]; then CC=clang meson setup build-fuzz -Dfuzz=true -Dbuildtype=debugoptimized >/dev/null; fi
if ninja -C build-fuzz tests/fuzz/fuzz-request >/dev/null; then
  corpus=$(mktemp -d)
  cp tests/broker/fixtures/codec/*.bin "$corpus"/ 2>/dev/null || true
  if build-fuzz/tests/fuzz/fuzz-request -max_total_time="${BROOK_FUZZ_SECONDS:-60}" -rss_limit_mb=2048 \
       -print_final_stats=1 "$corpus" 2>build-fuzz/fuzz.log; then
    passed=$((passed + 1)); echo "fuzz: no crash ($(grep -m1 stat::number_of_executed_units build-fuzz/fuzz.log))"
  else
    failed=$((failed + 1)); tail -50 build-fuzz/fuzz.log
  fi
  rm -rf "$corpus"
else
  failed=$((failed + 1)); echo "fuzz target did not build"
fi

echo "${passed} passed, ${failed} failed"
[ "$failed" = 0 ]
