# tmfgen: the two commands a newcomer needs are `make generate` and `make test`.
# Both bootstrap .venv from the project's own files (pyproject.toml + constraints.txt).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
NODE_STAMP := tools/asyncapi-validate/node_modules/.installed-stamp

SPEC := specs/tmf629/asyncapi.yaml
PROFILE := specs/tmf629/profile.yaml
OUT := generated/tmf629_customer

.PHONY: all venv node-deps generate check test test-toolkit test-generated lint golden bench clean

all: test

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[brokers,dev]'
	touch $(STAMP)

venv: $(STAMP)

$(NODE_STAMP): tools/asyncapi-validate/package.json tools/asyncapi-validate/package-lock.json
	npm ci --prefix tools/asyncapi-validate --no-audit --no-fund
	touch $(NODE_STAMP)

node-deps: $(NODE_STAMP)

## generate: regenerate generated/ from specs/, then run the generated service's tests (embedded broker)
generate: $(STAMP)
	$(BIN)/tmfgen generate --asyncapi $(SPEC) --profile $(PROFILE) --backend memory --out $(OUT)
	$(BIN)/tmfgen test $(OUT) -q

## check: fail when generated/ differs from what specs/ generate (CI drift gate)
check: $(STAMP)
	$(BIN)/tmfgen generate --asyncapi $(SPEC) --profile $(PROFILE) --backend memory --out $(OUT) --check -q

## lint: ruff + mypy --strict on the toolkit and the generated package
lint: $(STAMP)
	$(BIN)/ruff check generator tests bench
	$(BIN)/mypy
	cd $(OUT) && ../../$(BIN)/ruff check . && ../../$(BIN)/mypy --strict $(notdir $(OUT))

test-toolkit: $(STAMP) $(NODE_STAMP)
	$(BIN)/python -m pytest -q

test-generated: $(STAMP)
	$(BIN)/tmfgen test $(OUT) -q

## test: everything CI runs: drift gate, lint, toolkit tests, generated conformance tests
test: check lint test-toolkit test-generated

## golden: refresh the expected trees of tests/cases/*
golden: $(STAMP)
	TMFGEN_UPDATE_GOLDEN=1 $(BIN)/python -m pytest -q tests/generator/test_golden.py

bench: $(STAMP)
	$(BIN)/python bench/generation_bench.py

clean:
	rm -rf $(VENV) tools/asyncapi-validate/node_modules .pytest_cache .mypy_cache .ruff_cache
