# windowner — every target installs what it needs on first use.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install browser lint test demo bench gradcheck clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# Debian's Chromium for tests/test_browser.py: installed when running as root, else those tests are skipped.
browser:
	@command -v chromium >/dev/null || (test "$$(id -u)" = 0 && apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) || \
		echo "no root or no apt: browser tests will be skipped"

# ruff (lint, then formatting) and mypy, configured in pyproject.toml; `make test` (and so CI) runs it first.
LINT_PATHS := windowner tests benchmarks corpora/build.py corpora/audit.py setup.py

# All three run, so that one report shows every finding; lint fails if any of them does.
lint: install
	@status=0; for step in "ruff check $(LINT_PATHS)" "ruff format --check $(LINT_PATHS)" "mypy"; do \
		echo "$(VENV)/bin/$$step"; $(VENV)/bin/$$step || status=1; \
	done; exit $$status

test: install browser lint
	$(PY) -m pytest -q

demo: install
	$(PY) -m windowner.demo

gradcheck: install
	$(VENV)/bin/windowner gradcheck

bench: install
	$(PY) -m pip install --quiet -e '.[test,bench,dask]'
	$(PY) benchmarks/run.py
	$(PY) benchmarks/user_path.py
	$(PY) benchmarks/raw_text.py

clean:
	rm -rf $(VENV) models build dist *.egg-info .pytest_cache .ruff_cache .mypy_cache
