# windowner — every target installs what it needs on first use.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install test demo bench gradcheck clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

test: install
	$(PY) -m pytest -q

demo: install
	$(PY) -m windowner.demo

gradcheck: install
	$(VENV)/bin/windowner gradcheck

bench: install
	$(PY) -m pip install --quiet -e '.[test,bench,dask]'
	$(PY) benchmarks/run.py
	$(PY) benchmarks/raw_text.py

clean:
	rm -rf $(VENV) models build dist *.egg-info .pytest_cache
