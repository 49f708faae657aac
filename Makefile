# fivestar: the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
SHARED ?= ../shared
export CSVW_TESTS ?= $(abspath $(SHARED)/csvw-tests)

BIN := $(TARGET_DIR)/release/fivestar
STORE ?= data/store
BIND ?= 127.0.0.1:7878
BASE_IRI ?= http://$(BIND)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run build deps test-deps test lint conformance bench bench-deps bench-store fuzz clean

## run: build, run the example pipelines (fivestar.toml) into $(STORE), serve on http://$(BIND)
run: build
	$(BIN) run --store $(STORE) --base-iri $(BASE_IRI)
	$(BIN) serve --store $(STORE) --bind $(BIND) --base-iri $(BASE_IRI)

build: deps
	$(CARGO) build --release -p fivestar

## deps: what the build needs beyond Rust: libclang (RocksDB's bindings are made by bindgen).
# .ci/has-libclang decides: libclang-cpp, which the base image has, is not libclang.
deps:
	@if ! bash .ci/has-libclang; then \
	  echo "installing libclang-dev (RocksDB's Rust bindings are generated with bindgen)"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq libclang-dev; \
	fi

## test-deps: what the tests need beyond the build: Chromium for the browser tests,
## axe-core (fetched from the npm registry, checked against a pinned sha512) for their
## accessibility check, from PyPI (pinned by hash, in a venv) feedparser for the feeds and
## Oxigraph's server, and Debian's Virtuoso open source: the two external stores the
## [[publish_to]] and `serve --backend` tests publish to and serve from.
AXE_JS := $(abspath $(TARGET_DIR))/test-deps/axe.min.js
export AXE_JS
TEST_VENV := $(abspath $(TARGET_DIR))/test-deps/venv
export TEST_PYTHON := $(TEST_VENV)/bin/python
export OXIGRAPH_SERVER := $(TEST_VENV)/bin/oxigraph
test-deps:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  echo "installing chromium (the browser test renders the pages headless)"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium; \
	fi
	@if ! command -v virtuoso-t >/dev/null 2>&1; then \
	  echo "installing virtuoso-opensource-7-bin (the second external SPARQL store the tests publish to)"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq virtuoso-opensource-7-bin; \
	fi
	@python3 .ci/fetch-axe $(AXE_JS)
	@if ! $(TEST_PYTHON) -c 'import feedparser' >/dev/null 2>&1 || ! $(OXIGRAPH_SERVER) --version >/dev/null 2>&1; then \
	  echo "installing feedparser and oxigraph into $(TEST_VENV) (the feed tests read the Atom feeds with one; the publish_to tests publish to the other's server)"; \
	  rm -rf $(TEST_VENV); \
	  if ! python3 -m venv $(TEST_VENV); then \
	    echo "installing python3-venv"; \
	    $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq python3-venv; \
	    rm -rf $(TEST_VENV); python3 -m venv $(TEST_VENV); \
	  fi; \
	  $(TEST_VENV)/bin/pip install -q --disable-pip-version-check --require-hashes -r tests/requirements.txt; \
	fi

## test: formatting, lints, unit tests, the W3C CSVW suite, end-to-end tests.
# Lints and tests use the release profile, like `make run`: RocksDB (C++, about 17 minutes on
# 2 cores) is compiled once for run, lint and test alike. `cargo test --workspace` builds the
# fivestar binary too, with the same features as everything else.
# The site's suites (server, hardening, pages, browser) run three times: against the embedded
# store, then with `fivestar serve --backend` in front of Oxigraph's server, then of Virtuoso
# (FIVESTAR_TEST_BACKEND).
test: deps test-deps lint
	set -o pipefail; FIVESTAR_BIN=$(abspath $(TARGET_DIR))/release/fivestar \
	  $(CARGO) test --release --workspace 2>&1 | tee $(TARGET_DIR)/test.log
	set -o pipefail; FIVESTAR_BIN=$(abspath $(TARGET_DIR))/release/fivestar FIVESTAR_TEST_BACKEND=oxigraph \
	  $(CARGO) test --release --workspace --test server --test hardening --test pages --test browser 2>&1 \
	  | sed 's/^test result:/test result (serve --backend oxigraph):/' | tee -a $(TARGET_DIR)/test.log
	set -o pipefail; FIVESTAR_BIN=$(abspath $(TARGET_DIR))/release/fivestar FIVESTAR_TEST_BACKEND=virtuoso \
	  $(CARGO) test --release --workspace --test server --test hardening --test pages --test browser 2>&1 \
	  | sed 's/^test result:/test result (serve --backend virtuoso):/' | tee -a $(TARGET_DIR)/test.log
	@awk '/^test result:/ {p += $$4; f += $$6} /^test result \(serve --backend oxigraph\):/ {op += $$7; of += $$9} /^test result \(serve --backend virtuoso\):/ {vp += $$7; vf += $$9} END {printf "all tests: %d passed, %d failed; again with serve --backend, Oxigraph: %d passed, %d failed; Virtuoso: %d passed, %d failed\n", p, f, op, of, vp, vf}' $(TARGET_DIR)/test.log

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --release --workspace --all-targets -- -D warnings
	python3 .ci/module-cycles
	@# fuzz/ is outside the workspace: check that its targets still build against the crates.
	$(CARGO) check --manifest-path fuzz/Cargo.toml --bins

## conformance: the three W3C CSVW counts (rdf, json, validation).
conformance:
	$(CARGO) run --quiet --release -p csvw-testsuite --bin csvw-conformance

## bench: every figure issue 19 asks for, in one run, each with its ratio: csvw to-rdf ÷ the
## csv → N-Triples floor (1,000,000 rows); a whole `fivestar run` ÷ Oxigraph's bulk loader alone
## on its triples (three pairs in turn: each ratio and their median); tidy (rows/s, peak RSS);
## a publish of 12M triples with its summaries and the summary queries; the loader alone on
## them; `fivestar serve` ÷ Oxigraph's server on that store.
BENCH_DIR ?= $(abspath $(TARGET_DIR))/bench
BENCH_VENV := $(abspath $(TARGET_DIR))/bench-deps/venv
# The summaries' bench is built as `make build` builds (the release profile, the whole workspace's
# features): the bench profile, or its package alone, would compile RocksDB again.
bench: build bench-deps
	$(BIN) bench --rows 1000000
	$(BIN) bench-run --rows 1000000 --pairs 3 --oxigraph $(BENCH_VENV)/bin/oxigraph
	$(CARGO) bench -p fivestar-tidy --bench tidy -- --rows=200000 --stream-rows=5000000
	$(CARGO) bench --profile release --workspace --bench summary -- --rows=300000
	$(BIN) bench-store --triples 12000000 --dir $(BENCH_DIR) --keep
	$(BIN) bench-store --triples 12000000 --loader-only
	$(BIN) bench-serve --store $(BENCH_DIR)/store --oxigraph $(BENCH_VENV)/bin/oxigraph
	rm -rf $(BENCH_DIR)

## bench-deps: Oxigraph's server from PyPI (pinned by hash, in a venv), for bench-serve.
bench-deps:
	@if ! $(BENCH_VENV)/bin/oxigraph --version >/dev/null 2>&1; then \
	  echo "installing oxigraph 0.5.13 into $(BENCH_VENV) (bench-serve compares fivestar serve with its server)"; \
	  rm -rf $(BENCH_VENV); \
	  if ! python3 -m venv $(BENCH_VENV); then \
	    $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq python3-venv; \
	    rm -rf $(BENCH_VENV); python3 -m venv $(BENCH_VENV); \
	  fi; \
	  $(BENCH_VENV)/bin/pip install -q --disable-pip-version-check --require-hashes -r tests/bench-requirements.txt; \
	fi

## bench-store: publish 12M generated triples (2M payments, with the spending summaries), then Oxigraph's bulk loader alone on the same;
## then what computing a release's changes adds to publishing 1,000,000 rows with 1% corrected.
bench-store: build
	$(TARGET_DIR)/release/fivestar bench-store --triples 12000000
	$(TARGET_DIR)/release/fivestar bench-store --triples 12000000 --loader-only
	$(TARGET_DIR)/release/fivestar bench-changes --rows 1000000 --every 100

## fuzz: every cargo-fuzz target for FUZZ_SECONDS each (installs cargo-fuzz when missing).
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= metadata dialect tidy workbook sparql config
fuzz:
	@command -v cargo-fuzz >/dev/null 2>&1 || $(CARGO) install cargo-fuzz --locked
	cd fuzz && for t in $(FUZZ_TARGETS); do \
	  mkdir -p corpus/$$t; \
	  seeds=""; \
	  case $$t in workbook|tidy) seeds="../tests/fixtures/pipelines ../pipelines/examples/data";; sparql) seeds="seeds/sparql";; config) seeds="seeds/config";; esac; \
	  RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run -O $$t corpus/$$t $$seeds -- -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=30 || exit 1; \
	done

clean:
	$(CARGO) clean
