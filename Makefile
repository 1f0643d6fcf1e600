# The two commands a new user types: `make quickstart` and `make test`.
# Both create .venv on first use and (re)install when pyproject.toml changes.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev

.PHONY: install quickstart test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e '.[dev]'
	touch $@

install: $(STAMP)

# Each run gets its own sweep name, so `make quickstart` works again and again on one store.
quickstart: $(STAMP)  ## run the quickstart sweep (synthetic data, offline, CPU, a few minutes), then its report
	name=quickstart-$$(date +%Y%m%d-%H%M%S); \
	$(BIN)/hpo sweep quickstart --name $$name && $(BIN)/hpo report $$name --format html

test: $(STAMP)  ## lint, then every test (unit + integration on a real local Ray)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)  ## the CPU benchmarks, each a ratio against its baseline in the same run
	for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache
