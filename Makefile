# mailvend — the README's commands. Every target installs what it is missing first.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := run

# cargo-leptos builds the debug server with this cfg; the Rust tests use the same flags so
# they reuse its artefacts instead of rebuilding every dependency.
DEV_RUSTFLAGS := --cfg erase_components
TARGET_DIR = $${CARGO_TARGET_DIR:-target}
LEPTOS_ARGS = $${LEPTOS_LIB_CARGO_ARGS:+--lib-cargo-args=$$LEPTOS_LIB_CARGO_ARGS}

.PHONY: run test build lint unit e2e site tools test-tools clean bench soak soak-fleet fuzz

tools:
	@scripts/bootstrap.sh build

test-tools:
	@scripts/phase.sh bootstrap scripts/bootstrap.sh test

## make run: build and serve the dashboard on http://127.0.0.1:3000 (embedded defaults)
run: tools
	. .tools/env.sh && cargo leptos build --split $(LEPTOS_ARGS)
	. .tools/env.sh && exec $(TARGET_DIR)/debug/mailvend serve

## make build: release build — target/release/mailvend and the site under target/site
build: tools
	. .tools/env.sh && cargo leptos build --release --split $(LEPTOS_ARGS)
	@ls -l $(TARGET_DIR)/release/mailvend target/site/pkg

site: tools
	. .tools/env.sh && cargo leptos build --split $(LEPTOS_ARGS)

lint: tools
	scripts/lint.sh

unit: site
	scripts/unit.sh

e2e: test-tools site
	scripts/e2e.sh

## make test: every check — the clone reads nothing outside itself, lint (Rust, and the CloudFormation template with cfn-lint
## and checkov's security checks, each skip justified inline), unit and integration tests, the API against its OpenAPI
## description (schemathesis), browser tests with and without JavaScript
test: test-tools
	scripts/phase.sh self-contained scripts/self-contained.sh
	scripts/phase.sh lint scripts/lint.sh
	scripts/phase.sh cfn-lint .venv-moto/bin/cfn-lint deploy/cloudformation.yaml
	scripts/phase.sh checkov .venv-checkov/bin/checkov -f deploy/cloudformation.yaml --framework cloudformation --quiet --compact --skip-download
	scripts/phase.sh site $(MAKE) --no-print-directory site
	scripts/phase.sh unit $(MAKE) --no-print-directory unit
	scripts/phase.sh api-contract scripts/api-contract.sh
	scripts/phase.sh e2e scripts/e2e.sh

## make bench: the benchmarks of docs/benchmarks.md (release build; a few minutes, quiet machine)
bench: test-tools
	. .tools/env.sh && cargo build --release -p server --example rewrite_bench
	scripts/bench/rewrite.py --bin $(TARGET_DIR)/release/examples/rewrite_bench
	scripts/bench/load.sh sns-sqlite sns-dynamodb vend

## make soak: 60 s of webhook + dashboard + API load at once; fails on any error or memory growth
soak: test-tools
	scripts/bench/load.sh mixed

## make soak-fleet: the real-process runs of server/tests/processes.rs (two servers on one
## DynamoDB, kill -9, SIGTERM drain, SQLite restart and backup) with FLEET_MESSAGES (2000) each
soak-fleet: test-tools site
	. .tools/env.sh && FLEET_MESSAGES=$${FLEET_MESSAGES:-2000} RUSTFLAGS="$(DEV_RUSTFLAGS)" LEPTOS_OUTPUT_NAME=mailvend \
		cargo test -p server --locked --test processes -- --nocapture --test-threads 1

## make fuzz: every fuzz target for FUZZ_SECONDS (600) each, corpus kept in fuzz/corpus
fuzz: tools
	scripts/fuzz.sh

clean:
	cargo clean
	rm -rf data/ end2end/test-results
