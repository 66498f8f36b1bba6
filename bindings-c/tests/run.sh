#!/usr/bin/env bash
# Builds the C tests against libsafe_tracker (found through pkg-config), linked dynamically
# and statically, checks the header as C++, runs both against a fresh simulator each, then
# the dynamic one under valgrind memcheck (zero errors, nothing definitely lost).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
LIBDIR=$TARGET_DIR/x86_64-unknown-linux-gnu/debug
SIM=${SAFE_SIMULATOR_BIN:-$LIBDIR/safe-simulator}
OUT=$TARGET_DIR/c-tests
mkdir -p "$OUT/pkgconfig"
VERSION=$(grep -m1 '^version' "$ROOT/Cargo.toml" | cut -d'"' -f2)
sed -e "s#@PREFIX@#$ROOT#" -e "s#@INCLUDEDIR@#$ROOT/include#" -e "s#@LIBDIR@#$LIBDIR#" -e "s#@VERSION@#$VERSION#" \
  "$ROOT/bindings-c/safe_tracker.pc.in" > "$OUT/pkgconfig/safe_tracker.pc"
export PKG_CONFIG_PATH="$OUT/pkgconfig"

CFLAGS="-std=c99 -Wall -Wextra -Werror -g -O1"
# shellcheck disable=SC2046
gcc $CFLAGS $(pkg-config --cflags safe_tracker) "$ROOT/bindings-c/tests/test_safe.c" -o "$OUT/test_dynamic" \
  $(pkg-config --libs safe_tracker) -lpthread -Wl,-rpath,"$LIBDIR"
# shellcheck disable=SC2046
gcc $CFLAGS $(pkg-config --cflags safe_tracker) "$ROOT/bindings-c/tests/test_safe.c" -o "$OUT/test_static" \
  "$LIBDIR/libsafe_tracker.a" $(pkg-config --libs-only-other --static safe_tracker) -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
# shellcheck disable=SC2046
gcc $CFLAGS -fsanitize=address,undefined -fno-omit-frame-pointer $(pkg-config --cflags safe_tracker) \
  "$ROOT/bindings-c/tests/test_safe.c" -o "$OUT/test_asan" $(pkg-config --libs safe_tracker) -lpthread -Wl,-rpath,"$LIBDIR"
echo '#include "safe_tracker.h"
int main() { safe_clear_last_error(); return 0; }' > "$OUT/header_cpp.cpp"
g++ -std=c++11 -Wall -Wextra -Werror -I"$ROOT/include" -fsyntax-only "$OUT/header_cpp.cpp"
echo "header compiles as C++"

with_simulator() {
  "$SIM" --items 20 --orgs 2 > "$OUT/sim.out" 2>/dev/null &
  local pid=$!
  # Up to 30 s: a busy machine (parallel builds) can be slow to start it.
  for _ in $(seq 1 600); do [ -s "$OUT/sim.out" ] && break; sleep 0.05; done
  SAFE_BASE_URL=$(head -1 "$OUT/sim.out")
  if [ -z "$SAFE_BASE_URL" ]; then
    echo "the simulator did not start ($SIM)" >&2
    kill "$pid" 2>/dev/null || true
    return 1
  fi
  export SAFE_BASE_URL
  local work
  work=$(mktemp -d)
  local rc=0
  "$@" "$work" || rc=$?
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$work"
  return $rc
}

echo "== dynamic"; with_simulator "$OUT/test_dynamic"
echo "== static"; with_simulator "$OUT/test_static"
echo "== AddressSanitizer + UBSan"; ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1 \
  with_simulator "$OUT/test_asan"
echo "== valgrind"; with_simulator valgrind --quiet --error-exitcode=3 --leak-check=full \
  --errors-for-leak-kinds=definite --show-leak-kinds=definite "$OUT/test_dynamic"
