# faasm-py: `make run` starts the platform, `make test` runs ruff, then every test.
# Both create .venv and install the pinned requirements and the `faasm`
# command first (once, and again when requirements.txt or pyproject.toml change).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt pyproject.toml | cksum | cut -d' ' -f1)
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export PYTHONPATH := $(CURDIR)

.PHONY: setup python-runtime run logs lint test unit bench clean

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is needed, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "Installing pinned requirements into $(VENV) (the first time takes a few minutes) ..."
	@$(PY) -m pip install --disable-pip-version-check --progress-bar off -r requirements.txt
	@$(PY) -m pip install --quiet --disable-pip-version-check -e . --no-deps \
		> $(VENV)/install-faasm.log 2>&1 || { cat $(VENV)/install-faasm.log; exit 1; }
	@rm -f $(VENV)/.installed-* && touch $@

# The Python functions' runtime (CPython compiled to WASI) is compiled once per
# machine into the data dir: about 1-2 minutes the first time, 0.5 s afterwards.
# The same step installs Faasm's Python packages (deploy/python-packages.txt) with
# pip beside it, once, and again when the list changes.
python-runtime: setup
	@$(PY) -m faasm.runtime.python

run: setup python-runtime
	@$(PY) -m deploy.run

# Follow every process's log of a running `make run` (each file named by its process).
logs:
	@tail -n 20 -F $${FAASM_DATA_DIR:-data}/logs/*.log

# ruff (pinned in requirements.txt, configured in pyproject.toml), as CI runs it.
lint: setup
	@$(PY) -m ruff check .

test: setup lint python-runtime
	@$(PY) -m pytest tests

unit: setup
	@$(PY) -m pytest tests/unit

bench: setup
	@$(PY) -m bench

clean:
	rm -rf $(VENV) data .pytest_cache
