# October: build, run and test entry points. `make help` lists the targets.
SHELL := /bin/bash
PRESET ?= release
BUILD_DIR := build/$(PRESET)
JOBS ?= $(shell nproc)
# Extra ctest arguments, e.g. CTEST_ARGS='-R worker' or CTEST_ARGS='--label-exclude images'.
CTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help bootstrap configure build run test test-asan test-tsan test-images test-deploy bench lint format clean

help: ## List the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-20s %s\n", $$1, $$2}'

bootstrap: ## Install the Debian packages the project needs (no-op when present)
	@bash scripts/bootstrap.sh

configure: bootstrap
	@cmake --preset $(PRESET) >/dev/null

build: configure ## Build the binaries and tests (PRESET=release|debug|asan|tsan)
	@cmake --build --preset $(PRESET) -j $(JOBS)

run: build ## Start redis-server, october-worker and october-api on loopback; Ctrl-C stops all
	@OCTOBER_BIN_DIR=$(BUILD_DIR)/bin bash scripts/run-local.sh

test: build ## Run every test (unit, black-box, chart, pipeline, images) through ctest
	@ctest --preset $(PRESET) -j $(JOBS) $(CTEST_ARGS)

test-asan: ## Run the suite under AddressSanitizer + UndefinedBehaviorSanitizer
	@$(MAKE) --no-print-directory test PRESET=asan

test-tsan: ## Run the suite under ThreadSanitizer
	@$(MAKE) --no-print-directory test PRESET=tsan

test-images: bootstrap ## Only the image test (make test runs it too): Podman build, hardened run, compose (root)
	@bash tests/images/run.sh

test-deploy: bootstrap ## Only the chart-runs-for-real test (make test runs it too): the chart's pods under podman kube play (root)
	@bash tests/deploy/run.sh

bench: build ## Benchmarks: october-api against nginx (and Python), october-worker against Celery
	@OCTOBER_API_BIN=$(BUILD_DIR)/bin/october-api bash bench/run.sh
	@/usr/bin/python3 bench/worker_bench.py $(BUILD_DIR)/bin/october-worker

lint: configure ## clang-format check, clang-tidy, shellcheck
	@bash scripts/lint.sh $(BUILD_DIR)

format: ## Reformat the C++ sources in place
	@find src tests -name '*.cpp' -o -name '*.hpp' | xargs clang-format -i

clean: ## Remove build outputs and local run data
	@rm -rf build .run

# Delivery targets (images, Helm, CD, smoke) live in their own file.
-include mk/cicd.mk
