# Helpline: `make run` starts everything on SQLite; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
PYTEST_ARGS ?=

.PHONY: run test suite lint lintmigrations typecheck system-packages bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

run: $(STAMP)
	$(BIN)/helpline migrate --noinput
	$(BIN)/helpline seed-demo
	$(BIN)/helpline run --bind 127.0.0.1:8000

# lintmigrations: migrations the previous release could not run on, or that lock a
# table (django-migration-linter on the configured database's SQL; docs/upgrading.md).
lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports --config pyproject.toml
	$(MAKE) lintmigrations

lintmigrations: $(STAMP)
	HELPLINE_LOG_LEVEL=WARNING DJANGO_SETTINGS_MODULE=tests.upgrades.lint_settings $(BIN)/python -m helpline.cli lintmigrations -q ok ignore

typecheck: $(STAMP)
	$(BIN)/mypy src

# The servers and browser the tests drive (Dovecot, Chromium, Redis, nginx): Debian packages.
system-packages:
	bash .ci/system-packages

# The LDAP back-end (tests/ldap): python-ldap is built from source against the headers
# that system-packages installs, so only `make test` installs it, not `make run`.
LDAP_STAMP := $(VENV)/.ldap-$(shell sha1sum pyproject.toml | cut -c1-12)
$(LDAP_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,ldap]'
	@rm -f $(VENV)/.ldap-*
	@touch $@

test: system-packages $(LDAP_STAMP) lint typecheck
	$(BIN)/pytest -n 2 --dist loadgroup --create-db $(PYTEST_ARGS)

# The suite without ruff, the import contract and mypy, which do not depend on the
# database: CI's PostgreSQL leg runs `make lintmigrations suite` (the migration
# linter reads the configured database's SQL, so it does run again there).
suite: system-packages $(LDAP_STAMP)
	$(BIN)/pytest -n 2 --dist loadgroup --create-db $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
