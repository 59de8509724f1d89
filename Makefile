# Two commands do everything on a fresh machine: `make run` (the app on SQLite) and `make test` (the whole suite).
# Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 5006
# pytest-xdist workers for `make test`: browser, notebook and database tests mostly wait, so 3 overlap well on 2
# cores. Each module runs whole on one worker (its served app, JupyterLab or Chromium is started once), in file order,
# so the many quick unit modules fill the end. (Not --dist loadgroup: with pytest 9.2 it silently stops grouping,
# pytest-xdist issue 1386.)
TEST_WORKERS ?= 3

.PHONY: run demo test lint format bench chromium soffice java pg-contrib clean

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

run: $(VENV)/.installed  ## the app on ./inventory.db; an empty database offers "Load sample data"
	$(VENV)/bin/inventory-panel serve --port $(PORT)

demo: $(VENV)/.installed  ## the app with the sample items loaded first (skipped if they are there already)
	$(VENV)/bin/inventory-panel init-db
	$(VENV)/bin/inventory-panel load-sample
	$(VENV)/bin/inventory-panel serve --port $(PORT)

chromium:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

# LibreOffice Calc without a GUI: the xlsx export is checked by converting it to CSV with `soffice --headless`.
soffice:
	@command -v soffice >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libreoffice-calc-nogui >/dev/null)

# A JVM for pyspark: the Spark DataFrame import is tested with a real local session (tests/integration/test_import_spark.py).
java:
	@command -v java >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends default-jre-headless >/dev/null)

# Debian's PostgreSQL with contrib (pg_trgm, as Lakebase offers it): the browse plans are tested on it too
# (tests/integration/test_browse_plans.py) and `python -m bench.bench_browse` measures it; no server is started here.
pg-contrib:
	@ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql postgresql-contrib >/dev/null)

# Static checks first (seconds), then the suite. The slow benchmark smoke tests (marker `slow`) run too;
# `$(PY) -m pytest -m "not slow"` is the quick loop while editing.
test: $(VENV)/.installed chromium soffice java pg-contrib
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

format: $(VENV)/.installed
	$(VENV)/bin/ruff format .

# Every benchmark, each printing its targets as met or missed (bench/run_all.py; full sizes take about an hour).
# `make bench BENCH_ARGS=--small`: the same scripts on 2,000 generated rows and a few sessions, minutes.
BENCH_ARGS ?=
bench: $(VENV)/.installed
	$(PY) -m bench.run_all $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
