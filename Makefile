# Every target works on a fresh machine that has only python3: the venv is
# created on demand and re-installed whenever the packaging files change.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.gradlab-installed
PYTHON3 ?= python3

.PHONY: all venv test lint demo bench smoke clean distclean

all: test

$(STAMP): pyproject.toml setup.cfg
	test -x $(PY) || $(PYTHON3) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip setuptools wheel
	$(PY) -m pip install -e '.[test,examples]'
	touch $(STAMP)

venv: $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check gradlab tests benchmarks scripts

# The wheel smoke test runs first so that pytest's summary is the closing line.
test: lint
	PYTHON=$(PY) bash tests/smoke_wheel.sh
	$(PY) -m pytest -n 2 -q

smoke: $(STAMP)
	PYTHON=$(PY) bash tests/smoke_wheel.sh

demo: $(STAMP)
	$(PY) -m gradlab.examples

bench: $(STAMP)
	$(PY) -m pip install -r benchmarks/requirements.txt
	$(PY) -m benchmarks

clean:
	rm -rf build dist *.egg-info .pytest_cache .hypothesis .ruff_cache
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -print0 | xargs -0 rm -rf

distclean: clean
	rm -rf $(VENV)
