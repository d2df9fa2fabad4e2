# crpsmap - two commands on a fresh machine with nothing but Python 3.11+:
#   make run    the clinic registry on its embedded SQLite, with a synthetic demo clinic and demo logins
#   make test   lint (ruff), type-check (mypy) and the whole test suite (pytest); the registry's tests
#               run again on PostgreSQL when CRPSMAP_TEST_POSTGRES=postgresql://... is set (CI sets it)
#   make demo   the batch report of the bundled synthetic example cohort
VENV   ?= .venv
PYTHON ?= python3
STAMP  := $(VENV)/.installed
# one pytest worker per core (pytest-xdist); a test file stays on one worker, so that its module-scoped
# fixtures (simulated clinics) are computed once. PYTEST_PARALLEL= runs the suite in one process.
PYTEST_PARALLEL ?= -n auto --dist loadfile

.PHONY: run demo test lint typecheck pytest kernel-cache bench clean

$(STAMP): pyproject.toml
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/crpsmap serve --demo

demo: $(STAMP)
	$(VENV)/bin/crpsmap demo

test: lint
	@$(MAKE) --no-print-directory -j2 --output-sync=target typecheck kernel-cache
	@$(MAKE) --no-print-directory pytest

# Compile the simulator's Numba kernel into its on-disk cache once, beside mypy, so that the test
# workers and the command-line subprocesses load it (~3 s) instead of each compiling it (~40 s) in a
# fresh clone.
kernel-cache: $(STAMP)
	$(VENV)/bin/python -c "from crpsmap.model import Sim; Sim(years=0.1).clinic(1)"

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks scripts

typecheck: $(STAMP)
	$(VENV)/bin/mypy

pytest: $(STAMP)
	$(VENV)/bin/pytest $(PYTEST_PARALLEL) --durations=30
	@if [ -n "$$CRPSMAP_TEST_POSTGRES" ]; then \
		echo "== the registry's tests again, on PostgreSQL"; \
		CRPSMAP_TEST_DATABASE="$$CRPSMAP_TEST_POSTGRES" $(VENV)/bin/pytest $(PYTEST_PARALLEL) tests/registry -m "not browser"; \
	else \
		echo "(registry tests ran on SQLite only; set CRPSMAP_TEST_POSTGRES=postgresql://... for PostgreSQL)"; \
	fi

bench: $(STAMP)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(VENV)/bin/python $$b || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
