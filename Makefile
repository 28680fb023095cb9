# faasm-py: `make run` starts the platform, `make test` runs every test.
# Both create .venv and install the pinned requirements first (once).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cksum < requirements.txt | cut -d' ' -f1)
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export PYTHONPATH := $(CURDIR)

.PHONY: setup run test unit bench clean

setup: $(STAMP)

$(STAMP): requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is needed, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "Installing pinned requirements into $(VENV) ..."
	@$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@rm -f $(VENV)/.installed-* && touch $@

run: setup
	@$(PY) -m deploy.run

test: setup
	@$(PY) -m pytest tests

unit: setup
	@$(PY) -m pytest tests/unit

bench: setup
	@$(PY) -m bench

clean:
	rm -rf $(VENV) data .pytest_cache
