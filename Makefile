# The two commands of the README: `make run` and `make test`. Everything else supports them.
# The newest supported Python that really runs (a pyenv shim for a version that is not
# selected exists but fails), or the one given as `make ... PYTHON=/path/to/python`.
SUPPORTED_PYTHONS := python3.13 python3.12 python3.11
ifeq ($(origin PYTHON),undefined)
PYTHON := $(shell for candidate in $(SUPPORTED_PYTHONS); do \
	if $$candidate -c "import sys" >/dev/null 2>&1; then echo $$candidate; break; fi; done)
endif
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install lock bench check-services lint clean

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || test -n "$(PYTHON)" || \
		{ echo "No Python found: install one of $(SUPPORTED_PYTHONS), or pass PYTHON=..."; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -c "import sys; sys.exit(sys.version_info < (3, 11))" || \
		{ echo "$(PYTHON) is older than Python 3.11, which microcourses needs."; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --requirement requirements.lock
	touch $(STAMP)

install: $(STAMP)

## make run: the whole site on embedded defaults (SQLite, filesystem broker, Stripe emulator).
run: install
	mkdir -p var/celery var/mail var/media
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py seed_demo
	@echo
	@echo "  microcourses is starting at http://127.0.0.1:8000/  (admin: http://127.0.0.1:8000/admin/)"
	@echo "  E-mails are written to var/mail/. Press Ctrl-C to stop everything."
	@echo
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start

## make test: lint, type-check, Django checks, then pytest against real PostgreSQL and Redis.
test: install
	$(BIN)/python -m tests.services
	$(MAKE) --no-print-directory lint
	DJANGO_SETTINGS_MODULE=config.settings.test $(BIN)/python manage.py check
	DJANGO_SETTINGS_MODULE=config.settings.test $(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/pytest $(PYTEST_ARGS)

## make lint: the static checks of `make test` (pre-commit runs the same ones).
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports

## make bench: the benchmarks under tests/bench/, printed as a table.
bench: install
	$(BIN)/python -m tests.services
	$(BIN)/pytest tests/bench --bench -s -q

## make lock: re-pin every transitive dependency after editing pyproject.toml.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade pip
	.lock-venv/bin/python -m pip install --quiet ".[dev]"
	.lock-venv/bin/python -m pip freeze --exclude microcourses > requirements.lock
	rm -rf .lock-venv

clean:
	rm -rf var staticfiles .mypy_cache .ruff_cache .grimp_cache .import_linter_cache
