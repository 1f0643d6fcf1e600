# The two commands a new user types: `make quickstart` and `make test`.
# Both create .venv on first use and (re)install when pyproject.toml or the lock changes.
# Versions: every install here takes the exact versions in constraints.txt (the lock, made by
# `make lock`); pyproject.toml keeps ranges for people who `pip install` the package.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
LOCK   := constraints.txt
STAMP_RUN := $(VENV)/.installed-run
STAMP  := $(VENV)/.installed-dev
# Every extra, so the lock pins whichever of them a user installs with it.
ALL_EXTRAS := dev,postgres,wandb,mlflow,pb2,cluster
# The suite is CPU-bound on 2 cores: 2 pytest-xdist workers (each with its own Ray, PostgreSQL
# database and S3 server), one per core. A third kept the cores no busier and made every Ray
# process poll for longer: 1,458 CPU-s and 741 s with 3, 1,237 CPU-s and 663 s with 2.
# Whole modules go to a worker (a module's cluster or server starts once), the modules with slow
# tests first (tests/conftest.py orders them), so the run does not end waiting on one long test.
PYTEST_PAR := -n 2 --dist loadfile --no-loadscope-reorder
# The edit loop: no Ray, no PostgreSQL, no browser, no `slow` test (a Python subprocess, an epoch of
# real training): the spec language, plan, store, report, CLI parsing.
PYTEST_QUICK := -m "not integration and not browser and not slow" --ignore=tests/results_tests/test_report_browser.py \
                --ignore=tests/results_tests/test_dashboard_browser.py --ignore=tests/docs_tests/test_docs_site.py

.PHONY: install quickstart test test-quick test-latest lock lint bench docs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# quickstart needs the runtime package only; test adds the dev and test tools.
$(STAMP_RUN): pyproject.toml $(LOCK) | $(BIN)/python
	$(BIN)/python -m pip install -c $(LOCK) -e .
	touch $@

$(STAMP): pyproject.toml $(LOCK) | $(BIN)/python
	$(BIN)/python -m pip install -c $(LOCK) -e '.[dev]'
	touch $@ $(STAMP_RUN)

install: $(STAMP)

# Each run gets its own sweep name, so `make quickstart` works again and again on one store.
quickstart: $(STAMP_RUN)  ## run the quickstart sweep (synthetic data, offline, CPU, a few minutes), then its report
	name=quickstart-$$(date +%Y%m%d-%H%M%S); \
	$(BIN)/hpo sweep quickstart --name $$name && $(BIN)/hpo report $$name --format html

test: $(STAMP)  ## lint, then every test (unit + integration on a real local Ray), the 15 slowest listed
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(PYTEST_PAR) --durations=15

test-quick: $(STAMP)  ## the edit loop: no Ray, no servers (spec language, plan, store, report, CLI parsing)
	HPO_TEST_PG_URL= $(BIN)/python -m pytest -n 2 $(PYTEST_QUICK)

# Upstream drift, before users meet it: the newest releases pyproject.toml's ranges allow, in
# their own venv, then the whole suite. What differs from the lock is printed first.
test-latest: | $(BIN)/python
	[ -x .venv-latest/bin/python ] || $(PYTHON) -m venv .venv-latest
	.venv-latest/bin/python -m pip install --upgrade --upgrade-strategy eager -e '.[$(ALL_EXTRAS)]'
	.venv-latest/bin/python -m pip freeze --exclude-editable | diff $(LOCK) - | grep '^[<>] [A-Za-z]' || true
	.venv-latest/bin/ruff check .
	.venv-latest/bin/python -m pytest $(PYTEST_PAR) --durations=15

# The lock: a fresh resolve of the ranges (every extra) in a throw-away venv, frozen.
lock:
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install -e '.[$(ALL_EXTRAS)]'
	{ echo "# The lock: exact versions for every make target's install (pip install -c $(LOCK) ...)."; \
	  echo "# Made by \`make lock\` on $$(date -u +%Y-%m-%d), Python $$(.venv-lock/bin/python -c 'import platform; print(platform.python_version())'), $$(uname -m); edit pyproject.toml, not this."; \
	  .venv-lock/bin/python -m pip freeze --exclude-editable | grep -v '^-e '; } > $(LOCK)
	rm -rf .venv-lock

lint: $(STAMP)
	$(BIN)/ruff check .

# The docs site (docs/, mkdocs.yml) into site/, offline; --strict: a broken link or reference fails.
# The suite builds it too (tests/docs_tests/test_docs_site.py) and runs every example in it.
docs: $(STAMP)  ## build the docs site into site/ (open site/index.html)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

bench: $(STAMP)  ## the CPU benchmarks, each a ratio against its baseline in the same run
	for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .venv-latest .venv-lock runs site .pytest_cache .ruff_cache
