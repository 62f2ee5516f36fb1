# The command surface of the project. `make dev` runs the whole system locally; `make test` tests it.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.sentrix-stamp
REQUIREMENTS := requirements/dev.txt requirements/constraints.txt layers/shared/requirements.txt layers/imaging/requirements.txt layers/report/requirements.txt
export PYTHONPATH := $(CURDIR):$(CURDIR)/layers/shared:$(CURDIR)/local
# Looked up only when a recipe needs it (no .venv yet); $(error) then stops make with this one line.
PYTHON312 = $(shell scripts/python312.sh 2>/dev/null)
NO_PYTHON312 := Python 3.12 not found: install it (pyenv install 3.12; or python3.12 and python3.12-venv from apt) or set SAM_PYTHON=/path/to/python3.12
PACKAGES = $(shell grep -c '^[A-Za-z0-9]' requirements/constraints.txt)

.PHONY: help venv dev down reset migrate admin test system-deps test-unit lint format bench build validate sizes deploy redrive rotate-key lock clean openapi load mutate mutate-quick yolo-image

help: ## List the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): $(REQUIREMENTS)
	$(if $(wildcard $(PY)),,$(if $(PYTHON312),,$(error $(NO_PYTHON312))))
	@test -x $(PY) || "$(PYTHON312)" -m venv $(VENV)
	@echo "Installing $(PACKAGES) pinned packages into $(VENV) (about 3 minutes the first time, seconds after):"
	@set -o pipefail; $(PY) -m pip install --disable-pip-version-check -r requirements/dev.txt -c requirements/constraints.txt \
		| awk '/^Collecting /{ n++; printf "  [%d/$(PACKAGES)] %s\n", n, $$2; fflush() } /^Installing collected/{ print "  unpacking them…"; fflush() } /^Successfully installed/{ print "  done"; fflush() }'
	@touch $(STAMP)

venv: $(STAMP) ## Create/refresh the Python 3.12 virtualenv (.venv)

dev: venv ## Run the whole system locally: PostGIS, moto, YOLO stand-in (or YOLO_SERVICE_URL=… for any host), gateway, SQS poller (Ctrl-C stops)
	$(PY) -m sentrix_local up

down: venv ## Stop a local stack started elsewhere (by recorded pids); its state is kept for the next `make dev`
	$(PY) -m sentrix_local down

reset: venv ## Stop the local stack and delete ALL its state: database, S3 objects, queued messages, logs
	$(PY) -m sentrix_local reset

migrate: venv ## Apply database migrations to the local database
	$(PY) -m sentrix_local migrate

admin: venv ## Make EMAIL an admin (ROLE=expert for an expert) in the local database, creating the account if missing
	$(PY) -m sentrix_local admin --email "$(EMAIL)" --role $(or $(ROLE),admin)

alerts: venv ## Run the cluster alert computation on the local database (NOW=2026-12-03T06:00:00+00:00 to choose the time; JOB=weekly for the weekly rule): docs/alerts.md
	$(PY) -m sentrix_local alerts --job $(or $(JOB),daily) $(if $(NOW),--now "$(NOW)")

# Every run is in a shuffled order (pytest-randomly) with its seed printed at the top and the end; SEED=N replays
# one (the same order, and the same random/Hypothesis/schemathesis seeds): docs/testing.md (Seeds).
ORDER := -p randomly $(if $(SEED),--randomly-seed=$(SEED))

test: system-deps venv validate ## Everything CI runs: template lint, unit, integration, infra, e2e, security, contract and reduced load tests (SEED=N replays a run)
	SENTRIX_BURST_SCALE=0.5 $(PY) -m pytest $(ORDER) tests/unit tests/integration tests/infra tests/e2e tests/security tests/contract tests/load

system-deps: ## Check (as root: install) the system packages the tests need: PostgreSQL 15 + PostGIS, poppler-utils, chromium
	@bash scripts/system-deps.sh

test-unit: venv ## Only the fast unit tests (no services; SEED=N replays a run)
	$(PY) -m pytest $(ORDER) tests/unit

mutate: venv ## Mutation testing (mutmut) of the rule modules in mutation.toml (GROUPS="domain auth" for some); scores → mutation-results.json
	$(PY) scripts/mutate.py $(GROUPS) $(ARGS)

mutate-quick: venv ## Mutation testing of sentrix/domain only, time-boxed to 5 min; fails below the threshold in mutation.toml
	$(PY) scripts/mutate.py --quick $(ARGS)

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

load: venv ## Full-size load under faults (1,000 uploads, YOLO faults, SQS redelivery, DB stopped 30 s; PROFILE=original for the stand-in as the original service) and the full 30-upload burst against a 10/min host; bench/load-results.*
	SENTRIX_BURST_SCALE=1 $(PY) -m pytest -p no:randomly tests/integration/detect/test_detect_burst.py
	$(PY) -m bench.load --profile $(or $(PROFILE),default) $(ARGS)

bench: venv ## Run every benchmark; writes bench/results.json and bench/results.md
	$(PY) -m bench.run $(ARGS)

# The YOLO inference host's image (yolo_host/README.md); the build context is the repository (it copies the
# shared domain and detect's EXIF reader). VARIANT=gpu for CUDA; IMAGE and TAG name it (ECR: docs/infra.md).
YOLO_VARIANT = $(or $(VARIANT),cpu)
yolo-image: ## Build the YOLO inference host's image (VARIANT=cpu|gpu, IMAGE=name, TAG=tag): yolo_host/README.md
	DOCKER_BUILDKIT=1 docker build -f yolo_host/Dockerfile --build-arg VARIANT=$(YOLO_VARIANT) \
		-t $(or $(IMAGE),sentrix-yolo-host):$(or $(TAG),$(YOLO_VARIANT)) .

redrive: venv ## Move detect DLQ messages back to the detect queue (ARGS=--dry-run only lists them)
	$(PY) scripts/redrive.py $(ARGS)

rotate-key: venv ## Rotate the token signing key (SECRET=<SigningKeySecretArn> PUBLIC_SECRET=<SigningPublicKeysSecretArn>)
	PYTHONPATH=$(CURDIR)/layers/shared:$(CURDIR)/functions/auth $(PY) -m sentrix_auth.keytool rotate --secret-id $(SECRET) --public-secret-id $(PUBLIC_SECRET)

lock: ## Re-pin every transitive dependency into requirements/constraints.txt
	$(if $(PYTHON312),,$(error $(NO_PYTHON312)))
	rm -rf .venv-lock && "$(PYTHON312)" -m venv .venv-lock
	.venv-lock/bin/pip install -qq -r requirements/dev.txt
	{ echo "# Every transitive package of requirements/dev.txt, pinned (regenerate: make lock)."; .venv-lock/bin/pip freeze; } > requirements/constraints.txt
	rm -rf .venv-lock

clean: ## Remove build output and local state (stop the stack first)
	rm -rf .aws-sam .local .pytest_cache .ruff_cache .mutate
