# The two commands a newcomer needs: `make run` and `make test`. Both create .venv if needed.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?= -n auto

.PHONY: run test bench contracts clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11+ is required ($(PYTHON) is older)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/mockserver run

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Throughput and latency of the mock vs a trivial-Flask ceiling and Prism (installs wrk and Prism
# when missing); prints one table and writes bench/out/*.json. BENCH_ARGS="--duration 10" etc.
BENCH_ARGS ?=
bench: $(STAMP)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# The contract suite against a freshly started strict mock (JUnit report in reports/), and the
# lint of the project spec's own examples. `contracts run --help` for other targets.
contracts: $(STAMP)
	$(BIN)/contracts run --target mock --junit-xml reports/contracts.xml
	$(BIN)/contracts lint openapi/modelslab-pony-inpaint.yaml --no-docs-example

clean:
	rm -rf $(VENV) build dist *.egg-info
