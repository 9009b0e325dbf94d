# The two README commands. Each bootstraps what it needs and is idempotent.
SHELL := /bin/bash
VENV := .venv
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export VIRTUAL_ENV := $(CURDIR)/$(VENV)

.PHONY: bootstrap sweep test test-fast bench

bootstrap:
	@bash .ci/bootstrap.sh

# Main job: the default design-space sweep (LLaMA-2-7B on Alveo U280).
sweep: bootstrap
	codesign sweep --out runs/default --force

# Full test suite (what CI runs).
# --no-loadscope-reorder: xdist would otherwise dispatch the largest xdist groups first, and the ECP5
# bitstream build (marked `first`, about 20 minutes alone; tests/conftest.py) would start last
test: bootstrap
	python -m pytest -q -n 2 --dist loadgroup --no-loadscope-reorder

# Developer tier (about 2 minutes on 2 idle cores): unit tests, golden vectors and small simulations;
# every test marked `slow` (real LLM, full-layer RTL/C-simulation, Verilator builds, Yosys, bitstream)
# is left to the full tier.
test-fast: bootstrap
	python -m pytest -q -n 2 --dist loadgroup -m "not slow"

bench: bootstrap
	python benchmarks/bench_sweep.py
