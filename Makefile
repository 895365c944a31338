# gan-sweeps: `make run` installs (first time) and runs a real short sweep + its report; `make test` runs the tests
# (the CI command); `make test-fast` the unit tier (under a minute); `make lint` runs ruff; `make bench` measures.
VENV ?= .venv
PY := $(VENV)/bin/python
# The offline datasets beside this checkout (see README); an explicit GAN_SWEEPS_DATA wins.
export GAN_SWEEPS_DATA ?= $(abspath $(wildcard ../shared/datasets))
export WANDB_MODE ?= offline

# Debian packages the e2e tests start as throwaway services on 127.0.0.1 (tests/services.py: PostgreSQL, and a Slurm
# cluster with munge and accounting through slurmdbd + MariaDB): installed by `make test` when missing and run as root
# on Debian; elsewhere the tests that need them are skipped with the reason, or fail with
# GAN_SWEEPS_REQUIRE_SERVICES=1 (.ci/run sets it, so CI always runs them).
TEST_PACKAGES := postgresql slurm-wlm slurmdbd munge mariadb-server

.PHONY: setup run test test-fast test-services lint bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

# The main job: seed 001's cGAN grid (k x beta1), one epoch of 16,384 images at batch 64 (256 D steps a job: enough
# for the k x beta1 differences to show in about 5 minutes on 2 cores; README), then the k x beta1 report table.
run: setup
	$(PY) -m gan_sweeps -m model=cgan k=1,2,3 optim.beta1=0.5,0.9 data.train_size=16384 batch_size=64 \
		trainer.max_epochs=1 eval.num_samples=2000 hydra.sweep.dir=multirun/make-run
	$(PY) -m gan_sweeps.report multirun/make-run --rows k --cols optim.beta1 \
		--metric eval/cond_acc,eval/conf_correct,eval/conf_incorrect,eval/fid,eval/is

# Test files run in parallel processes (pytest-xdist, one file per process at a time: a file's session services and
# fixtures stay in one process); `.venv/bin/python -m pytest tests/test_x.py` runs one file in-process.
PYTEST := $(PY) -m pytest -q -n auto --maxprocesses 4 --dist loadfile

test: setup test-services
	$(PYTEST)

test-fast: setup
	$(PYTEST) -m unit

lint: setup
	$(PY) -m ruff check .

test-services:
	@missing=$$(for p in $(TEST_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null \
		| grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then \
			if [ "$$GAN_SWEEPS_REQUIRE_SERVICES" = 1 ]; then \
				echo "GAN_SWEEPS_REQUIRE_SERVICES=1: the PostgreSQL/Slurm tests need Debian's $$(echo $$missing):" \
					"install them as root (apt-get install $$(echo $$missing))" >&2; exit 1; fi; \
			echo "note: not root on Debian, so $$(echo $$missing) not installed: tests that need a missing service" \
				"are skipped, with the reason" >&2; exit 0; fi; \
		echo "installing $$(echo $$missing) for the PostgreSQL/Slurm tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			$$missing >/dev/null; fi

bench: setup
	$(PY) benchmarks/bench_refusal.py
	$(PY) benchmarks/bench_training.py
	$(PY) benchmarks/bench_evaluation.py
	$(PY) benchmarks/bench_overhead.py
	$(PY) benchmarks/bench_plan.py

clean:
	rm -rf multirun outputs .pytest_cache .cache
	find . -name __pycache__ -prune -exec rm -rf {} +
