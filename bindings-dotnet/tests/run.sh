#!/usr/bin/env bash
# Compiles the SafeTracker library (src/**/*.cs, as SafeTracker.csproj lists them) with Mono's
# mcs, warnings as errors and an XML doc comment on every public member, then the tests and the
# README's C# examples against it, and runs the tests under Mono with a time limit. The tests
# start their own simulators and PostgreSQL cluster. Installs mono-mcs and mono-runtime through
# apt-get when they are missing.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
LIBDIR=$TARGET_DIR/x86_64-unknown-linux-gnu/debug
OUT=$TARGET_DIR/dotnet
mkdir -p "$OUT"
if ! command -v mcs >/dev/null || ! command -v mono >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq mono-mcs mono-runtime >/dev/null
fi
DOTNET=$ROOT/bindings-dotnet
# The library: what `dotnet build SafeTracker.csproj` compiles (its <Compile Include="src/**/*.cs"/>).
mcs -nologo -target:library -langversion:7 -warnaserror -doc:"$OUT/SafeTracker.xml" -out:"$OUT/SafeTracker.dll" \
  -recurse:"$DOTNET/src/*.cs"
# The README's C# examples compile against it.
python3 - "$ROOT/README.md" "$OUT/readme" <<'PY'
import os, re, sys
text = open(sys.argv[1]).read()
os.makedirs(sys.argv[2], exist_ok=True)
blocks = re.findall(r"```csharp\n(.*?)```", text, re.S)
assert blocks, "README.md has no ```csharp example"
for i, b in enumerate(blocks):
    open(os.path.join(sys.argv[2], f"example_{i}.cs"), "w").write(b)
PY
mcs -nologo -target:library -langversion:7 -warnaserror -r:"$OUT/SafeTracker.dll" -out:"$OUT/readme-examples.dll" "$OUT"/readme/*.cs
# The tests (their runner is TestRunner.cs) and the C layout probe for LayoutTests.cs.
mcs -nologo -langversion:7 -warnaserror -r:"$OUT/SafeTracker.dll" -out:"$OUT/SafeTracker.Tests.exe" "$DOTNET"/tests/*.cs
gcc -std=c99 -Wall -Wextra -Werror -I"$ROOT/include" "$DOTNET/tests/layout.c" -o "$OUT/layout"
"$OUT/layout" > "$OUT/layout.json"
# Version: the assembly's is Cargo's.
VERSION=$(grep -m1 '^version' "$ROOT/Cargo.toml" | cut -d'"' -f2)
grep -q "AssemblyInformationalVersion(\"$VERSION\")" "$DOTNET/src/AssemblyInfo.cs" || { echo "AssemblyInfo.cs does not say version $VERSION" >&2; exit 1; }
grep -q "<Version>$VERSION</Version>" "$DOTNET/SafeTracker.csproj" || { echo "SafeTracker.csproj does not say version $VERSION" >&2; exit 1; }
cd "$OUT"
SAFE_REPO_ROOT="$ROOT" SAFE_LAYOUT_FILE="$OUT/layout.json" LD_LIBRARY_PATH="$LIBDIR" \
  timeout --signal=KILL 900 mono --debug "$OUT/SafeTracker.Tests.exe" "$@"
