VENV := .venv
PYTHON := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
INI := config/kinto.ini
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: serve test lint format bench install install-test clean

$(PYTHON):
	python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(STAMP): $(PYTHON) pyproject.toml
	$(PIP) install --quiet -e ".[postgresql,redis,monitoring,openid]"
	touch $(STAMP)

$(TEST_STAMP): $(STAMP)
	$(PIP) install --quiet -e ".[postgresql,redis,monitoring,openid,test]"
	touch $(TEST_STAMP)

install: $(STAMP)

install-test: $(TEST_STAMP)

$(INI): | $(STAMP)
	$(VENV)/bin/kinto init --ini $(INI)

serve: $(STAMP) $(INI)
	$(VENV)/bin/kinto migrate --ini $(INI)
	$(VENV)/bin/kinto start --ini $(INI)

# Run again on PostgreSQL and on SQLite (the embedded default) with
# KINTO_TEST_BACKEND (see tests/conftest.py): the HTTP protocol tests and the
# plugins that store data; the rest does not depend on the backend (the
# backends' own conformance suites run in the first pass). Kept small enough
# for `make test` to stay under 10 minutes on 2 cores.
PROTOCOL_TESTS := tests/views tests/core/views/test_batch.py tests/plugins/accounts \
	tests/plugins/default_bucket tests/plugins/history tests/plugins/test_flush.py

test: $(TEST_STAMP)
	$(VENV)/bin/pytest -n 3 --dist loadgroup --durations=10 $(PYTEST_ARGS)
	KINTO_TEST_BACKEND=postgresql $(VENV)/bin/pytest -n 3 --dist loadgroup --durations=5 \
		$(PROTOCOL_TESTS) $(PYTEST_ARGS)
	KINTO_TEST_BACKEND=sqlite $(VENV)/bin/pytest -n 3 --dist loadgroup --durations=5 \
		$(PROTOCOL_TESTS) $(PYTEST_ARGS)

lint: $(TEST_STAMP)
	$(VENV)/bin/ruff check kinto tests bench
	$(VENV)/bin/ruff format --check kinto tests bench

format: $(TEST_STAMP)
	$(VENV)/bin/ruff check --fix kinto tests bench
	$(VENV)/bin/ruff format kinto tests bench

bench: $(STAMP)
	$(PYTHON) bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) *.egg-info build dist
