# laborcoop — the two commands: `make run` (local system with demo data) and `make test`.
# Everything runs through uv from the locked environment; the local stack and the service launcher
# are the dev-only package tools/devstack (`laborcoop-devstack stack|services ...`).
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

UV := python3 -m uv
# After `bootstrap` the environment is in sync, so the devstack runs without a second sync.
DEVSTACK := $(UV) run --frozen --no-sync --quiet laborcoop-devstack
# The Node project that validates docs/events/asyncapi.json with the AsyncAPI parser; `bootstrap`
# installs it from its lock when node_modules is missing or the lock changed.
ASYNCAPI_CHECK := tools/asyncapi-check

# `make run` and `make test` use separate ports and data directories, so tests never touch
# the data of a running local system. Override any of them from the environment. Kafka's ports
# are below Linux's ephemeral range (32768-60999): a client retrying a stopped broker on a port
# inside it can connect to itself and hold the port, and the broker then cannot bind it.
RUN_STACK_DIR ?= $(CURDIR)/.devstack
RUN_PG_PORT ?= 55432
RUN_KAFKA_PORT ?= 29092
RUN_KAFKA_CONTROLLER_PORT ?= 29093
TEST_STACK_DIR ?= $(CURDIR)/.devstack-test
TEST_PG_PORT ?= 56432
TEST_KAFKA_PORT ?= 29192
TEST_KAFKA_CONTROLLER_PORT ?= 29193

RUN_ENV := LABORCOOP_STACK_DIR=$(RUN_STACK_DIR) LABORCOOP_PG_PORT=$(RUN_PG_PORT) \
	LABORCOOP_KAFKA_PORT=$(RUN_KAFKA_PORT) LABORCOOP_KAFKA_CONTROLLER_PORT=$(RUN_KAFKA_CONTROLLER_PORT)
TEST_ENV := LABORCOOP_STACK_DIR=$(TEST_STACK_DIR) LABORCOOP_PG_PORT=$(TEST_PG_PORT) \
	LABORCOOP_KAFKA_PORT=$(TEST_KAFKA_PORT) LABORCOOP_KAFKA_CONTROLLER_PORT=$(TEST_KAFKA_CONTROLLER_PORT)

.PHONY: schemas settings-doc openapi docs token help bootstrap up down status run seed stop test test-up lint typecheck fmt bench clean deploy-check

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

bootstrap: ## install uv (from PyPI), the locked environment and the AsyncAPI parser (npm)
	@python3 -m uv --version >/dev/null 2>&1 \
		|| python3 -m pip install --quiet --disable-pip-version-check 'uv>=0.5,<1' \
		|| python3 -m pip install --quiet --disable-pip-version-check --user \
			--break-system-packages 'uv>=0.5,<1'
	@$(UV) sync --frozen --quiet
	@cd $(ASYNCAPI_CHECK) && { cmp -s package-lock.json node_modules/.installed-lock \
		|| { npm ci --no-audit --no-fund --loglevel=error >/dev/null \
			&& cp package-lock.json node_modules/.installed-lock; }; }

up: bootstrap ## start PostgreSQL and Kafka for `make run`
	@$(RUN_ENV) $(DEVSTACK) stack up

down: bootstrap ## stop the services, Kafka and PostgreSQL of `make run`
	@$(RUN_ENV) $(DEVSTACK) services stop
	@$(RUN_ENV) $(DEVSTACK) stack down

status: bootstrap ## show what is running
	@$(RUN_ENV) $(DEVSTACK) stack status
	@$(RUN_ENV) $(DEVSTACK) services status

run: up ## the whole system on this machine, with the 2024 demo data
	@$(RUN_ENV) $(DEVSTACK) services start

seed: up ## load the demo data again (adds only what is missing)
	@$(RUN_ENV) $(DEVSTACK) services seed

stop: bootstrap ## stop the four services, keep the stack
	@$(RUN_ENV) $(DEVSTACK) services stop

lint: bootstrap ## ruff lint and format check
	@$(UV) run --frozen ruff check .
	@$(UV) run --frozen ruff format --check .

typecheck: bootstrap ## mypy --strict
	@$(UV) run --frozen mypy libs services tools tests bench examples

fmt: bootstrap
	@$(UV) run --frozen ruff check --fix .
	@$(UV) run --frozen ruff format .

test-up: bootstrap
	@$(TEST_ENV) $(DEVSTACK) stack up

test: test-up lint typecheck ## every check and test against the real PostgreSQL and Kafka
	@$(TEST_ENV) $(UV) run --frozen pytest $(PYTEST_ARGS)

deploy-check: bootstrap ## only the static checks of the Dockerfile, compose and deploy/k8s (part of `test`)
	@$(UV) run --frozen pytest tests/deploy $(PYTEST_ARGS)

bench: test-up ## the benchmarks in bench/ (not part of the tests)
	@$(TEST_ENV) $(UV) run --frozen python -m bench

clean: down ## stop everything and delete local data
	@$(TEST_ENV) $(DEVSTACK) stack down
	rm -rf $(RUN_STACK_DIR) $(TEST_STACK_DIR)

ROLES ?= province
PROVINCE ?= $(if $(filter province,$(subst $(comma), ,$(ROLES))),430000,)
comma := ,
token: ## print a development token: make token PROVINCE=310000, or ROLES=ministry
	@LABORCOOP_JWKS_FILE=$(RUN_STACK_DIR)/keys/jwks.json $(UV) run --frozen --quiet \
		laborcoop-gateway dev-token --province "$(PROVINCE)" --roles $(ROLES)

schemas: bootstrap ## regenerate docs/events/ (JSON Schemas + AsyncAPI) from libs/contracts
	@$(UV) run --frozen python -m laborcoop.contracts.schemas docs/events

settings-doc: bootstrap ## regenerate the settings tables of docs/operations.md from the settings classes
	@$(UV) run --frozen python -m laborcoop.common.settings_doc docs/operations.md

openapi: bootstrap ## regenerate the gateway's forwarded.json (its one public OpenAPI document)
	@$(UV) run --frozen python -m laborcoop.devstack.public_openapi

docs: schemas settings-doc openapi ## regenerate everything generated (docs/, the public OpenAPI)
