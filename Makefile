# Sessionscope. `make help` lists the targets.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# make run works without configuration: a secret key is generated once into .secret_key.
export SECRET_KEY ?= $(shell test -f .secret_key || $(PYTHON) -c "import secrets; print(secrets.token_urlsafe(50))" > .secret_key; cat .secret_key)

.DEFAULT_GOAL := help
.PHONY: help install install-dev run worker beat test test-postgres test-extras lint typecheck format migrations-check clean

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-18s %s\n", $$1, $$2}'

# The installer: uv (several times faster than pip over the ~95 packages) when it can be had -
# on the PATH, or one wheel pip puts into the venv - else pip. `make run INSTALLER=pip` forces pip.
INSTALLER ?= uv
UV = $(shell command -v uv 2>/dev/null || echo $(VENV)/bin/uv)
define pip_install
	@# uv does not read pip's configuration: where only pip reaches the index (a mirror set in
	@# pip.conf), uv fails and pip installs instead.
	@if [ "$(INSTALLER)" = uv ] && { test -x "$(UV)" || $(PY) -m pip install --quiet --disable-pip-version-check uv; } \
		&& echo "$(UV) pip install --python $(PY) $(1)" \
		&& "$(UV)" pip install --quiet --compile-bytecode --python $(PY) $(1); then :; \
	else \
		echo "$(PY) -m pip install $(1)"; \
		$(PY) -m pip install --quiet --upgrade pip && $(PY) -m pip install --quiet $(1); \
	fi
endef

$(VENV)/.installed: pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) is required"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@# Only the runtime dependencies, read from pyproject.toml: the project has no package to
	@# build (packages = []), so an editable wheel of it cost a build environment for nothing.
	$(PY) -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep='\n')" > $(VENV)/requirements.txt
	@# pip (when uv cannot be had) is upgraded first: the venv's own (23.2) took twice as long.
	$(call pip_install,-r $(VENV)/requirements.txt)
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed Makefile clients/python/pyproject.toml
	$(call pip_install,-e ".[dev]" -e clients/python)
	touch $@

install: $(VENV)/.installed ## Create the virtualenv and install the runtime dependencies

install-dev: $(VENV)/.installed-dev ## Install the runtime and development dependencies

run: ## Install, migrate, seed the demo data once, and serve on http://127.0.0.1:8000
	@echo "==> Installing the dependencies into $(VENV) (the first run takes about a minute)"
	@$(MAKE) --no-print-directory install
	@echo "==> Migrating the database (and collecting the static files beside it)"
	@# Independent of the database: collectstatic (gzipping ~185 files) runs while migrate does.
	@$(PY) manage.py collectstatic --no-input -v0 & static=$$!; \
	$(PY) manage.py migrate --no-input -v0; migrated=$$?; \
	wait $$static && exit $$migrated
	@echo "==> Seeding the demo data (once) while the server starts on http://$(HOST):$(PORT)/ (gunicorn, 2 workers)"
	@# The server boots while the demo data is written (SQLite in WAL mode: readers do not
	@# wait); the last line, the URL, the login and the key, is printed once both are done.
	@$(VENV)/bin/gunicorn config.asgi:application -k asgi --bind $(HOST):$(PORT) --workers 2 \
		--log-level warning & server=$$!; \
	trap 'kill $$server 2>/dev/null' INT TERM EXIT; \
	$(PY) manage.py seed_demo --ready-at http://$(HOST):$(PORT)/api/v1/health || exit 1; \
	wait $$server

worker: install ## Run a Celery worker (needs CELERY_BROKER_URL, e.g. redis://127.0.0.1:6379/0)
	$(VENV)/bin/celery -A config worker --loglevel INFO --concurrency 2

beat: install ## Run Celery beat (scheduled retention and maintenance tasks)
	$(VENV)/bin/celery -A config beat --loglevel INFO

test: install-dev ## Run the test suite on SQLite (no services needed)
	$(VENV)/bin/pytest -m "not postgres and not celery_worker" -q

test-postgres: install-dev ## Run the suite on PostgreSQL (DATABASE_URL must point at it)
	$(VENV)/bin/pytest -q

test-extras: install-dev ## Each client adapter in a fresh virtualenv holding only its framework
	clients/python/ci/extras.sh

lint: install-dev ## ruff check and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install-dev ## Type-check the apps and the client (mypy with django-stubs)
	$(VENV)/bin/mypy

format: install-dev ## Format the code with ruff
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

migrations-check: install ## Fail if a model change has no migration
	$(PY) manage.py makemigrations --check --dry-run

clean: ## Remove the virtualenv, the SQLite database and collected static files
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* staticfiles .pytest_cache .ruff_cache
