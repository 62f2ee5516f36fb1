# The command surface of the project. `make dev` runs the whole system locally; `make test` tests it.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.sentrix-stamp
REQUIREMENTS := requirements/dev.txt requirements/constraints.txt layers/shared/requirements.txt layers/imaging/requirements.txt layers/report/requirements.txt
export PYTHONPATH := $(CURDIR):$(CURDIR)/layers/shared:$(CURDIR)/local

.PHONY: help venv dev down migrate test test-unit lint format bench build validate sizes deploy redrive rotate-key lock clean openapi load

help: ## List the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): $(REQUIREMENTS)
	@test -x $(PY) || "$$(scripts/python312.sh)" -m venv $(VENV)
	$(PY) -m pip install -qq --disable-pip-version-check -r requirements/dev.txt -c requirements/constraints.txt
	@touch $(STAMP)

venv: $(STAMP) ## Create/refresh the Python 3.12 virtualenv (.venv)

dev: venv ## Run the whole system locally: PostGIS, moto, YOLO stand-in, gateway, SQS poller (Ctrl-C stops)
	$(PY) -m sentrix_local up

down: venv ## Stop a local stack started elsewhere (by recorded pids)
	$(PY) -m sentrix_local down

migrate: venv ## Apply database migrations to the local database
	$(PY) -m sentrix_local migrate

test: venv validate ## Everything CI runs: template lint, unit, integration, infra, e2e, security, contract and reduced load tests
	$(PY) -m pytest tests/unit tests/integration tests/infra tests/e2e tests/security tests/contract tests/load

test-unit: venv ## Only the fast unit tests (no services)
	$(PY) -m pytest tests/unit

lint: venv ## ruff lint + format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: venv ## Apply ruff's formatting and safe fixes
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

validate: ## sam validate --lint and cfn-lint with the serverless rules (SAM CLI in .venv-sam)
	bash scripts/sam.sh venv
	bash scripts/sam.sh validate

build: ## sam build without Docker: layers and functions trimmed and compiled to bytecode (.aws-sam/build)
	bash scripts/sam.sh venv
	bash scripts/sam.sh build

sizes: build ## Unzipped size of every built function with its layers (Lambda allows 250 MiB)
	$(PY) infra/build/artifacts.py sizes

deploy: build ## sam deploy --config-env $(ENV) (dev by default) PARAMS="Name=Value ..." (README.md (Deploying))
	bash scripts/sam.sh deploy --config-env $(or $(ENV),dev) $(PARAMS)

openapi: venv ## Write the merged OpenAPI document of every function (docs/openapi.json)
	$(PY) -m sentrix_local.openapi

load: venv ## Full-size load under faults (1,000 uploads, YOLO faults, SQS redelivery, DB stopped 30 s); bench/load-results.*
	$(PY) -m bench.load $(ARGS)

bench: venv ## Run every benchmark; writes bench/results.json and bench/results.md
	$(PY) -m bench.run $(ARGS)

redrive: venv ## Move detect DLQ messages back to the detect queue (ARGS=--dry-run only lists them)
	$(PY) scripts/redrive.py $(ARGS)

rotate-key: venv ## Rotate the token signing key in Secrets Manager (SECRET=<SigningKeySecretArn>)
	PYTHONPATH=$(CURDIR)/layers/shared:$(CURDIR)/functions/auth $(PY) -m sentrix_auth.keytool rotate --secret-id $(SECRET)

lock: ## Re-pin every transitive dependency into requirements/constraints.txt
	rm -rf .venv-lock && "$$(scripts/python312.sh)" -m venv .venv-lock
	.venv-lock/bin/pip install -qq -r requirements/dev.txt
	{ echo "# Every transitive package of requirements/dev.txt, pinned (regenerate: make lock)."; .venv-lock/bin/pip freeze; } > requirements/constraints.txt
	rm -rf .venv-lock

clean: ## Remove build output and local state (stop the stack first)
	rm -rf .aws-sam .local .pytest_cache .ruff_cache
