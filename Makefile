# windowner — every target installs what it needs on first use.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install browser test demo bench gradcheck clean

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

test: install browser
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
	rm -rf $(VENV) models build dist *.egg-info .pytest_cache
