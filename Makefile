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
# real training, the docs site's build): the spec language, plan, store, report, CLI parsing. Chosen by
# marks alone: tests/conftest.py fails a test that starts Ray or Chromium without its mark.
PYTEST_QUICK := -m "not integration and not browser and not slow"

.PHONY: install quickstart test test-quick test-latest test-oldest lock lint bench docs reference clean

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

# PostgreSQL: HPO_TEST_PG_URL names a database to use (.ci/run's); unset, tests/conftest.py starts a private
# server (initdb into a temp folder, a free loopback port, stopped by its pid) where PostgreSQL's programs
# are installed, or says in one line that the PostgreSQL cases were left out.
test: $(STAMP)  ## lint, then every test (unit + integration on a real local Ray, PostgreSQL, S3), the 15 slowest listed
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(PYTEST_PAR) --durations=15

# HPO_TEST_PG_URL= (empty): no PostgreSQL server, not even a private one.
test-quick: $(STAMP)  ## the edit loop: no Ray, no servers (spec language, plan, store, report, CLI parsing)
	HPO_TEST_PG_URL= $(BIN)/python -m pytest -n 2 $(PYTEST_QUICK)

# torch and torchvision, held at the lock's versions by test-latest and lock: pyproject.toml gives them
# no upper cap (pip keeps a user's newer torch), and a newer torch is a multi-GB download.
HELD := ^(torch|torchvision)==
# What differs from the lock in venv $(1), one package a line: < the lock's version, > the venv's.
lock_diff = $(1)/bin/python -m pip freeze --exclude-editable | LC_ALL=C sort -f > $(1)/frozen.txt; \
	grep -v '^\#' $(LOCK) | LC_ALL=C sort -f | diff - $(1)/frozen.txt | grep '^[<>] [A-Za-z]' || true

# Upstream drift, before users meet it: the newest releases pyproject.toml's ranges allow (torch and
# torchvision excepted: HELD), in their own venv, then the whole suite. What differs from the lock is
# printed first.
test-latest: | $(BIN)/python
	[ -x .venv-latest/bin/python ] || $(PYTHON) -m venv .venv-latest
	grep -E '$(HELD)' $(LOCK) > .venv-latest/held.txt
	.venv-latest/bin/python -m pip install --upgrade --upgrade-strategy eager -c .venv-latest/held.txt -e '.[$(ALL_EXTRAS)]'
	$(call lock_diff,.venv-latest)
	.venv-latest/bin/ruff check .
	.venv-latest/bin/python -m pytest $(PYTEST_PAR) --durations=15

# The floor, as test-latest is the ceiling: Ray, Optuna, SQLAlchemy and pydantic at the oldest releases
# pyproject.toml's ranges admit (constraints-oldest.txt), every other package at the lock's version, in
# their own venv, then the whole suite. What differs from the lock is printed first.
OLDEST := constraints-oldest.txt
# The lock less every package $(OLDEST) names (names compared as pip does: any case, -_. alike).
lock_rest = awk 'function norm(s) { s = tolower(s); sub(/[=<>!~;[ ].*/, "", s); gsub(/[-_.]+/, "-", s); return s } \
	FNR == NR { if ($$0 !~ /^\#/ && NF) drop[norm($$1)] = 1; next } $$0 !~ /^\#/ && NF && !(norm($$0) in drop)' \
	$(OLDEST) $(LOCK)

test-oldest:
	[ -x .venv-oldest/bin/python ] || $(PYTHON) -m venv .venv-oldest
	$(lock_rest) > .venv-oldest/lock-rest.txt
	.venv-oldest/bin/python -m pip install -c $(OLDEST) -c .venv-oldest/lock-rest.txt -e '.[$(ALL_EXTRAS)]'
	$(call lock_diff,.venv-oldest)
	.venv-oldest/bin/ruff check .
	.venv-oldest/bin/python -m pytest $(PYTEST_PAR) --durations=15

# The lock: a fresh resolve of the ranges (every extra) in a throw-away venv, frozen; torch and
# torchvision stay at the lock's versions (HELD; to move them, edit their two lines in the lock first).
lock:
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	grep -E '$(HELD)' $(LOCK) > .venv-lock/held.txt
	.venv-lock/bin/python -m pip install -c .venv-lock/held.txt -e '.[$(ALL_EXTRAS)]'
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

# The reference pages' generated regions (spec fields, CLI, Python API, errors, store schema), rewritten in
# place from the code and committed, so GitHub shows them whole. The quick tests fail while one is out of date
# (tests/docs_tests/test_reference_pages.py); `python docs/_gen/reference.py --check` says which.
reference: $(STAMP)  ## regenerate the reference pages from the code (after changing a spec model, a command or the API)
	$(BIN)/python docs/_gen/reference.py

bench: $(STAMP)  ## the CPU benchmarks, each a ratio against its baseline in the same run
	for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .venv-latest .venv-oldest .venv-lock runs site .pytest_cache .ruff_cache
