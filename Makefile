# safe-tracker — `make demo` and `make test` are the two commands the README promises.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

# One build cache outside the clone speeds repeated runs on the same machine; a fresh
# machine simply builds it.
export CARGO_TARGET_DIR ?= /var/tmp/safe-tracker-target
export CARGO_TERM_COLOR ?= never
CARGO ?= cargo

.PHONY: test demo lint rust-test fmt

## test: every check and test that exists (what CI runs)
test: lint rust-test

## lint: formatting and clippy with warnings as errors
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

## rust-test: the core and simulator tests (integration tests run against the simulator)
rust-test:
	$(CARGO) test --workspace

## demo: read every item of a bundled simulator in order and print a summary
demo:
	$(CARGO) run -q -p safe-tracker --example demo -- 2000

fmt:
	$(CARGO) fmt --all
