# fivestar: the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
SHARED ?= ../shared
export CSVW_TESTS ?= $(abspath $(SHARED)/csvw-tests)

EXAMPLE := pipelines/examples/spending/trafford-spend-2024-q1.csv-metadata.json
EXAMPLE_BASE := http://127.0.0.1:7878/datasets/trafford-spending/trafford-spend-2024-q1.csv-metadata.json

.PHONY: run build test lint conformance bench fuzz clean

## run: build, then convert the bundled example council spending file to Turtle.
run: build
	$(TARGET_DIR)/release/fivestar csvw to-rdf $(EXAMPLE) --base $(EXAMPLE_BASE)

build:
	$(CARGO) build --release -p fivestar

## test: formatting, lints, unit tests, the W3C CSVW suite, end-to-end tests.
test: lint
	$(CARGO) build -p fivestar
	set -o pipefail; FIVESTAR_BIN=$(abspath $(TARGET_DIR))/debug/fivestar \
	  $(CARGO) test --workspace 2>&1 | tee $(TARGET_DIR)/test.log
	@awk '/^test result:/ {p += $$4; f += $$6} END {printf "all tests: %d passed, %d failed\n", p, f}' $(TARGET_DIR)/test.log

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

## conformance: the three W3C CSVW counts (rdf, json, validation).
conformance:
	$(CARGO) run --quiet --release -p csvw-testsuite --bin csvw-conformance

## bench: csvw to-rdf on a generated 1,000,000-row spending file: rows/s, triples/s, peak RSS.
bench: build
	$(TARGET_DIR)/release/fivestar bench --rows 1000000

## fuzz: the cargo-fuzz targets, FUZZ_SECONDS each (needs `cargo install cargo-fuzz`).
FUZZ_SECONDS ?= 60
fuzz:
	cd fuzz && for t in metadata dialect; do \
	  RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run -O $$t -- -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 || exit 1; \
	done

clean:
	$(CARGO) clean
