# The two commands a newcomer needs: `make run` and `make test`. Both create .venv if needed.
# `make help` lists every target.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?= -n auto

.PHONY: help run test bench contracts docs lock mutate clean

help: ## this list
	@awk -F ':.*## ' '/^[a-z]+:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# The environment is the lock file's exact versions (reproducible), then this project itself.
$(STAMP): pyproject.toml requirements-dev.lock
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11+ is required ($(PYTHON) is older)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

run: $(STAMP) ## serve the mock on http://127.0.0.1:4010 (a line per request; Ctrl-C stops it)
	@echo "From another shell: . $(VENV)/bin/activate   (then mockserver, contracts, pytest, python examples/...)"
	$(BIN)/mockserver run

test: $(STAMP) ## the whole test suite (PYTEST_ARGS="-k admin" etc.)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Throughput and latency of the mock vs a trivial-Flask ceiling and Prism (installs wrk and Prism
# when missing); prints one table and writes bench/out/*.json. BENCH_ARGS="--duration 10" etc.
BENCH_ARGS ?=
bench: $(STAMP) ## throughput and latency vs a Flask ceiling and Prism (about 4 minutes)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# The contract suite against a freshly started strict mock (JUnit report in reports/), and the
# lint of the project spec's own examples. `contracts run --help` for other targets.
contracts: $(STAMP) ## the contract suite against a fresh strict mock, and the spec lint
	$(BIN)/contracts run --target mock --junit-xml reports/contracts.xml
	$(BIN)/contracts lint openapi/modelslab.yaml --no-docs-example

docs: $(STAMP) ## regenerate docs/configuration.md from the code
	$(BIN)/python -m mockserver settings --format markdown > docs/configuration.md.tmp
	mv docs/configuration.md.tmp docs/configuration.md

lock: $(STAMP) ## after changing dependencies in pyproject.toml: resolve them and rewrite requirements-dev.lock
	$(BIN)/python -m pip install --quiet -e '.[test]'
	{ echo "# The project's own development and CI environment, pinned: make run / make test install exactly this."; \
	  echo "# Regenerate after changing dependencies in pyproject.toml: make lock (pip freeze of .venv)."; \
	  $(BIN)/python -m pip freeze --exclude-editable; } > requirements-dev.lock.tmp
	mv requirements-dev.lock.tmp requirements-dev.lock

# Mutation testing (mutmut 3), one module at a time under `nice`, each with its mirrored tests and
# the pipeline tests; prints killed/survived/timeout per module and every survivor as a diff.
# Not part of `make test`. docs/mutation-testing.md explains the table and marking equivalents.
#   make mutate MODULES="mockserver/images/netpolicy.py contracts/core/redact.py" MUTATE_ARGS="--jobs 2"
MODULES ?=
MUTATE_ARGS ?=
mutate: $(STAMP) ## mutation testing, one module at a time (MODULES=..., docs/mutation-testing.md)
	$(BIN)/python mutation/run.py --modules "$(MODULES)" $(MUTATE_ARGS)

clean: ## remove .venv and build output
	rm -rf $(VENV) build dist *.egg-info .mutate
