# Every target works on a fresh machine that has only python3: the venv is
# created on demand and re-installed whenever the packaging files change.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.gradlab-installed
PYTHON3 ?= python3

.PHONY: all venv browser test lint demo bench smoke clean distclean

all: test

$(STAMP): pyproject.toml setup.cfg
	test -x $(PY) || $(PYTHON3) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip setuptools wheel
	# torch==2.13.0 is the CPU wheel (any other version downloads gigabytes of CUDA).
	$(PY) -m pip install 'torch==2.13.0'
	$(PY) -m pip install -e '.[test,examples,all,typing]'
	touch $(STAMP)

venv: $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check gradlab tests benchmarks scripts
	$(VENV)/bin/mypy

# Headless Chromium renders the soft-decision SVG in a test. Installed where that is
# possible (root on Debian, as in CI); elsewhere that test skips and says why.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	  && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
	  || echo "chromium is not installed: the SVG rendering test will skip"

# The wheel smoke test runs first so that pytest's summary is the closing line.
test: lint browser
	PYTHON=$(PY) bash tests/smoke_wheel.sh
	$(PY) -m pytest -n 2 --dist loadgroup -q

smoke: $(STAMP)
	PYTHON=$(PY) bash tests/smoke_wheel.sh

demo: $(STAMP)
	$(PY) -m gradlab.examples

bench: $(STAMP)
	$(PY) -m pip install -r benchmarks/requirements.txt
	$(PY) -m benchmarks
	$(PY) -m benchmarks.distributed

clean:
	rm -rf build dist *.egg-info .pytest_cache .hypothesis .ruff_cache
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -print0 | xargs -0 rm -rf

distclean: clean
	rm -rf $(VENV)
