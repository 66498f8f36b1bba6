# safe-tracker — `make demo` and `make test` are the two commands the README promises.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

# One build cache outside the clone speeds repeated runs on the same machine; a fresh
# machine simply builds it.
export CARGO_TARGET_DIR ?= /var/tmp/safe-tracker-target
export CARGO_TERM_COLOR ?= never
CARGO ?= cargo
PYTHON ?= python3
VENV ?= $(CARGO_TARGET_DIR)/venv
TRIPLE := x86_64-unknown-linux-gnu
SIMULATOR := $(CARGO_TARGET_DIR)/$(TRIPLE)/debug/safe-simulator
export SAFE_SIMULATOR_BIN := $(SIMULATOR)
# The native Python module built with pyo3's introspection data (`--features inspect`, never in
# the wheel), read by `codegen` for the stub; the next build without the feature replaces it.
NATIVE_INSPECT := $(CARGO_TARGET_DIR)/$(TRIPLE)/debug/lib_native.so

.PHONY: bench fuzz soak test demo lint chromium postgres rust-test python-test node-test c-test dotnet-test header codegen codegen-check simulator venv fmt

## test: every check and test that exists (what CI runs)
test: lint codegen-check rust-test python-test node-test c-test dotnet-test fuzz-short

## lint: formatting and clippy with warnings as errors
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

## rust-test: the core and simulator tests (integration tests run against the simulator);
## the `serve` status page test loads the page in headless Chromium (apt-get installs it)
rust-test: chromium postgres
	$(CARGO) test --workspace

## postgres: Debian's PostgreSQL server binaries and PgBouncer, for the tests' throw-away
## clusters (installed when missing; nothing is left running: each test starts and stops its own)
postgres:
	(ls /usr/lib/postgresql/*/bin/initdb && test -x /usr/sbin/pgbouncer) >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql pgbouncer >/dev/null)

## chromium: Debian's chromium, for the status page test (installed when missing)
chromium:
	command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null)

## simulator: the SAFE simulator and the throw-away PostgreSQL cluster the bindings' tests start
simulator:
	$(CARGO) build -q -p safe-simulator -p safe-test-postgres

venv:
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check --upgrade pip maturin pytest mypy

## python-test: build and install the wheel into a venv, then pytest and mypy --strict
python-test: simulator postgres venv
	$(VENV)/bin/pip install -q --disable-pip-version-check --force-reinstall --no-deps ./bindings-python
	cd bindings-python/tests && $(VENV)/bin/python -m pytest -q -p no:cacheprovider .
	mkdir -p $(CARGO_TARGET_DIR)/readme-examples
	$(VENV)/bin/python -c "import re; t=open('README.md').read(); [open(f'$(CARGO_TARGET_DIR)/readme-examples/example_{i}.py','w').write(b) for i, b in enumerate(re.findall(r'\`\`\`python\n(.*?)\`\`\`', t, re.S))]"
	cd bindings-python/tests && $(VENV)/bin/mypy --strict --cache-dir $(CARGO_TARGET_DIR)/mypy-cache . ../python/safe_tracker $(CARGO_TARGET_DIR)/readme-examples

## node-test: install the npm tooling (registry only), build the addon with its test-only
## panic probes (cargo feature test-panic; `npm run build` and `npm pack` build without), node
## --test, tsc
node-test: simulator postgres
	cd bindings-node && npm ci --no-audit --no-fund --loglevel=error
	cd bindings-node && npm run -s build:test
	cd bindings-node && npm test
	cd bindings-node && npm run -s typecheck

## codegen: regenerate every language's error-code table, the schema (schema/) and the
## models from the core's, then the header, then what is read from the header (C# P/Invoke),
## then the Python native module's stub (_native.pyi) from pyo3's introspection data
codegen:
	$(CARGO) run -q -p safe-tracker-codegen
	$(CARGO) run -q -p safe-tracker-header
	$(CARGO) run -q -p safe-tracker-codegen
	$(CARGO) build -q -p safe-tracker-python --features inspect
	$(CARGO) run -q -p safe-tracker-codegen --bin native-stub -- $(NATIVE_INSPECT)

## codegen-check: fail when a generated file differs from what `make codegen` writes
codegen-check:
	$(CARGO) run -q -p safe-tracker-codegen -- --check
	$(CARGO) build -q -p safe-tracker-python --features inspect
	$(CARGO) run -q -p safe-tracker-codegen --bin native-stub -- $(NATIVE_INSPECT) --check

## header: regenerate include/safe_tracker.h with the pinned cbindgen
header:
	$(CARGO) run -q -p safe-tracker-header

## c-test: header drift check, C tests (static and dynamic, via pkg-config) and valgrind
c-test: simulator
	$(CARGO) run -q -p safe-tracker-header -- --check
	$(CARGO) build -q -p safe-tracker-c
	bash bindings-c/tests/run.sh

## dotnet-test: the SafeTracker .NET library compiled with Mono's mcs (XML docs required, the
## README's C# example too) and its tests under Mono (apt-get installs mono when missing)
dotnet-test: simulator postgres
	$(CARGO) build -q -p safe-tracker-c
	bash bindings-dotnet/tests/run.sh

## fuzz: a short coverage-guided run of every fuzz target (cargo-fuzz; FUZZ_SECONDS each)
FUZZ_SECONDS ?= 20
FUZZ_TARGET_DIR ?= /var/tmp/safe-tracker-fuzz-target
fuzz:
	command -v cargo-fuzz >/dev/null || $(CARGO) install --locked cargo-fuzz
	cd fuzz && for t in decode_models form_data retry_after; do \
	  RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR=$(FUZZ_TARGET_DIR) $(CARGO) fuzz run $$t corpus/$$t -- -max_total_time=$(FUZZ_SECONDS); done
	RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR=$(FUZZ_TARGET_DIR) $(CARGO) fuzz run --fuzz-dir fuzz/c-abi c_abi_strings fuzz/c-abi/corpus/c_abi_strings -- -max_total_time=$(FUZZ_SECONDS)

## fuzz-short: every fuzz target for a few seconds (part of `make test`)
fuzz-short:
	$(MAKE) fuzz FUZZ_SECONDS=10

## soak: the long versions: 20 SIGKILLs over a 3,000-item sync with faults, and longer fuzzing
soak:
	SAFE_SOAK=1 $(CARGO) test -p safe-tracker-cli --test cli -- sigkill --nocapture
	$(MAKE) fuzz FUZZ_SECONDS=300

## bench: every workload side by side (release builds), writes BENCHMARKS.md; not a test
bench: venv postgres
	$(CARGO) build -q --release -p safe-simulator -p safe-tracker-c -p safe-tracker-cli -p safe-test-postgres
	$(CARGO) build -q --release -p safe-tracker --example bench
	$(VENV)/bin/pip install -q --disable-pip-version-check --force-reinstall --no-deps ./bindings-python
	$(VENV)/bin/pip install -q --disable-pip-version-check requests httpx
	cd bindings-node && npm ci --no-audit --no-fund --loglevel=error && npm run -s build
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk >/dev/null)
	mkdir -p $(CARGO_TARGET_DIR)/$(TRIPLE)/bench
	gcc -std=c99 -O2 -Wall -Wextra -Werror -Iinclude bench/c_sweep.c -o $(CARGO_TARGET_DIR)/$(TRIPLE)/bench/c_sweep \
	  -L$(CARGO_TARGET_DIR)/$(TRIPLE)/release -lsafe_tracker -Wl,-rpath,$(CARGO_TARGET_DIR)/$(TRIPLE)/release
	BENCH_PYTHON=$(VENV)/bin/python $(VENV)/bin/python bench/run.py

## demo: the main job: `safe-tracker sync` of a bundled simulator into a fresh SQLite file
demo:
	$(CARGO) build -q -p safe-tracker-cli
	bash scripts/demo.sh $(CARGO_TARGET_DIR)/$(TRIPLE)/debug/safe-tracker

fmt:
	$(CARGO) fmt --all
