# Run `make help` for the list of targets.

CARGO ?= cargo
# Debian packages the tests and the demo need, installed when missing: the kit's own, plus
# those each part lists in its debian-packages.txt (one name a line, # for comments).
TEST_PACKAGES := prometheus prometheus-alertmanager \
	$(shell cat exporters/*/debian-packages.txt rules/debian-packages.txt deploy/debian-packages.txt demo/debian-packages.txt 2>/dev/null | sed 's/\#.*//')
# Each part's test preparation (npm installs and the like), run after the packages.
PREPARE_SCRIPTS := $(wildcard exporters/*/prepare-tests.sh rules/prepare-tests.sh)

.PHONY: help test demo bench lint fmt deps build release clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'

deps: ## Install the Debian packages and npm modules the tests need, when missing
	@scripts/ensure-packages.sh $(TEST_PACKAGES)
	@for script in $(PREPARE_SCRIPTS); do echo "running $$script"; $$script || exit 1; done

lint: ## cargo fmt --check and clippy with warnings as errors
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

test: deps lint ## The whole test suite (installs what it needs)
	scripts/test.sh

build: ## Debug build of every binary
	$(CARGO) build --workspace

release: ## Release build of every binary
	$(CARGO) build --workspace --release

demo: deps release ## Start the whole stack on loopback (two regions, alerts); Ctrl-C stops it
	@scripts/demo.sh

bench: deps release ## Run the benchmarks and write BENCHMARKS.md
	@scripts/bench.sh

fmt: ## Format the code
	$(CARGO) fmt --all

clean: ## Remove build output and demo state
	$(CARGO) clean
	rm -rf .demo
