# Storefront Billing: `make demo` runs the product, `make test` tests it. Both start from a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
EMULATOR_PORT ?= 12111
export PORT EMULATOR_PORT

.PHONY: demo test lint typecheck format install chromium lock clean

# Locked requirement sets (`make lock` writes both): production.txt is what a server needs;
# development.txt adds the test and lint tools at the same versions. Both carry hashes.
PROD_REQUIREMENTS := requirements/production.txt
DEV_REQUIREMENTS := requirements/development.txt

# The virtualenv (development set) is rebuilt whenever its lock file changes.
$(VENV)/.installed: $(DEV_REQUIREMENTS)
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/pip install --quiet --disable-pip-version-check --require-hashes -r $(DEV_REQUIREMENTS)
	@touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput -v0
	@exec scripts/demo

# Browser tests drive Debian's Chromium; install it when missing and we may (root).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing Debian's chromium for the browser tests..."; \
	    (apt-get install -y -qq chromium >/dev/null 2>&1 || \
	     (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)); \
	  else \
	    echo "Browser tests need Chromium: run 'sudo apt-get install chromium' (or make test as root)." >&2; \
	    exit 1; \
	  fi; }

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# mypy with django-stubs over the apps and the emulator (settings in pyproject.toml's [tool.mypy]).
typecheck: install
	$(BIN)/mypy

test: install chromium lint typecheck
	$(BIN)/pytest -n auto $(PYTEST_ARGS)

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Re-pin both sets from pyproject.toml's ranges (`dependencies`, then the `dev` extra constrained
# to the production pins, so the two agree). Existing pins are kept; to move one, delete its
# lines from both files (or the files) and run again. pip-tools lives in a throwaway venv.
PIP_COMPILE_OPTS := --quiet --generate-hashes --strip-extras --no-emit-index-url --no-emit-find-links
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet --disable-pip-version-check pip-tools
	.lock-venv/bin/pip-compile $(PIP_COMPILE_OPTS) -o $(PROD_REQUIREMENTS) pyproject.toml
	.lock-venv/bin/pip-compile $(PIP_COMPILE_OPTS) --extra dev -c $(PROD_REQUIREMENTS) -o $(DEV_REQUIREMENTS) pyproject.toml
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) .lock-venv staticfiles .demo .emulator db.sqlite3 db.sqlite3-wal db.sqlite3-shm
