# lam: the two entry points are `make demo` and `make test`; both run the
# one-time set-up first (a no-op once done).
SHARED ?= ../shared
CARGO ?= cargo

.PHONY: setup demo test lint bench bench-train build mini-dcs slurm-test

setup:
	@bash scripts/setup.sh

build: setup
	$(CARGO) build --release -p lam

# The main job on a small built-in default, self-contained (examples/demo.toml,
# 15-21 min on 2 cores): collect cheetah-run under scale_easy_video_hard with the
# shipped expert in experts/, train LAOM + supervision and LAPO (mini) and
# probe both on held-out backgrounds, carry LAOM + supervision through latent
# BC, a decoder and evaluation, and write runs/demo/report/report.html.
demo: build
	./target/release/lam pipeline --config examples/demo.toml

# Tests run in parallel: one libtorch thread each (several OpenMP teams on
# two cores slow the libtorch tests down by an order of magnitude).
test: setup
	OMP_NUM_THREADS=1 LAM_SHARED_DIR=$(abspath $(SHARED)) $(CARGO) test --workspace

# `lam pipeline --emit slurm` on a real one-node Slurm the test starts itself
# (crates/cli/tests/slurm.rs, ~1 min on 2 cores): installs Debian's slurm-wlm
# and munge with apt first when they are missing (root). `make test` skips
# that test, saying why, where they are not installed; here a skip fails,
# unless SLURM_REQUIRED is empty (CI: a machine that cannot install or start
# the daemons skips, saying why; a failing pipeline still fails).
SLURM_REQUIRED ?= 1
slurm-test: setup
	@if ! PATH="$$PATH:/usr/sbin:/sbin" command -v slurmctld >/dev/null || ! PATH="$$PATH:/usr/sbin:/sbin" command -v munged >/dev/null; then \
		echo "installing slurm-wlm and munge (apt)"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge) \
			|| [ -z "$(SLURM_REQUIRED)" ]; \
	fi
	PATH="$$PATH:/usr/sbin:/sbin" $(if $(SLURM_REQUIRED),LAM_SLURM_TEST_REQUIRED=1) OMP_NUM_THREADS=1 LAM_SHARED_DIR=$(abspath $(SHARED)) \
		$(CARGO) test -p lam --test slurm -- --nocapture

lint: setup
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

bench: build
	./target/release/lam bench physics

# Training speed beside PyTorch (installs torch for the comparison, ~3 GB).
bench-train: build
	bash scripts/setup-bench.sh
	./target/release/lam bench train

# The CPU-scale protocol (experiments/mini-dcs.toml): hours on 2 cores,
# resumable (re-run the same command after an interruption). ARMS=main runs
# its core only; the published experts are read from $(SHARED).
mini-dcs: build
	./target/release/lam pipeline --config experiments/mini-dcs.toml $(foreach a,$(ARMS),--arm $(a))
