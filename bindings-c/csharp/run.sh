#!/usr/bin/env bash
# Compiles the C# wrapper and sample with Mono's mcs and runs them against a simulator.
# Installs mono-mcs and mono-runtime through apt-get when they are missing.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
LIBDIR=$TARGET_DIR/x86_64-unknown-linux-gnu/debug
SIM=${SAFE_SIMULATOR_BIN:-$LIBDIR/safe-simulator}
OUT=$TARGET_DIR/csharp
mkdir -p "$OUT"
if ! command -v mcs >/dev/null || ! command -v mono >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq mono-mcs mono-runtime >/dev/null
fi
mcs -nologo -warnaserror -out:"$OUT/sample.exe" "$ROOT"/bindings-c/csharp/*.cs
"$SIM" --items 20 --orgs 1 > "$OUT/sim.out" 2>/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do [ -s "$OUT/sim.out" ] && break; sleep 0.05; done # up to 30 s on a busy machine
[ -s "$OUT/sim.out" ] || { echo "the simulator did not start ($SIM)" >&2; exit 1; }
# SAFE_REPO_ROOT: where ModelTests.cs finds the schema and tests/conformance/full-models.json.
SAFE_REPO_ROOT="$ROOT" SAFE_BASE_URL=$(head -1 "$OUT/sim.out") LD_LIBRARY_PATH="$LIBDIR" mono "$OUT/sample.exe"
