# tmfgen: the two commands a newcomer needs are `make generate` and `make test`.
# Both bootstrap .venv from the project's own files (pyproject.toml + constraints.txt).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
NODE_STAMP := tools/asyncapi-validate/node_modules/.installed-stamp

# each generated package: <spec folder>:<output folder>
PACKAGES := specs/tmf629:generated/tmf629_customer specs/tmf632:generated/tmf632_party
GENERATE = $(BIN)/tmfgen generate --asyncapi $(1)/asyncapi.yaml --profile $(1)/profile.yaml \
	--backend memory --out $(2)

.PHONY: all venv node-deps browser generate check test test-toolkit test-generated test-brokers lint golden bench clean

all: test

$(STAMP): pyproject.toml runtime/pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -c constraints.txt -e ./runtime -e '.[brokers,dev,test-brokers]'
	touch $(STAMP)

venv: $(STAMP)

$(NODE_STAMP): tools/asyncapi-validate/package.json tools/asyncapi-validate/package-lock.json
	npm ci --prefix tools/asyncapi-validate --no-audit --no-fund
	touch $(NODE_STAMP)

node-deps: $(NODE_STAMP)

## browser: headless Chromium (Debian package), which renders the conformance kit's HTML report in
## its test; needs root for apt-get
browser:
	[ -x /usr/bin/chromium ] || { apt-get update -qq && apt-get install -y -qq chromium; }

## generate: regenerate generated/ from specs/, then run the generated services' tests (embedded broker)
generate: $(STAMP)
	$(foreach p,$(PACKAGES),$(call GENERATE,$(word 1,$(subst :, ,$(p))),$(word 2,$(subst :, ,$(p)))) &&) true
	$(foreach p,$(PACKAGES),$(BIN)/tmfgen test $(word 2,$(subst :, ,$(p))) -q &&) true

## check: fail when generated/ differs from what specs/ generate (CI drift gate)
check: $(STAMP)
	$(foreach p,$(PACKAGES),$(call GENERATE,$(word 1,$(subst :, ,$(p))),$(word 2,$(subst :, ,$(p)))) --check -q &&) true

## lint: black, ruff and mypy --strict on the toolkit; ruff and mypy --strict on each generated package
lint: $(STAMP)
	$(BIN)/black --check --quiet generator runtime/src tests/generator bench
	$(BIN)/ruff check generator runtime/src tests bench tools
	$(BIN)/mypy
	$(foreach p,$(PACKAGES),(cd $(word 2,$(subst :, ,$(p))) && $(abspath $(BIN))/ruff check . && $(abspath $(BIN))/mypy --strict $(notdir $(word 2,$(subst :, ,$(p))))) &&) true

## test-toolkit: the toolkit's tests, the conformance matrix on every real broker among them
## (tests/test_conformance_matrix.py), on PYTEST_JOBS workers (pytest-xdist); the tests of one
## shared broker run on one worker, so a broker restart never hits another test
## (tests/conftest.py; PYTEST_JOBS=0: serial). Default: one worker more than the CPUs, since the
## tests wait on brokers about half the time (on 2 cores, 3 workers beat 2 and 4:
## docs/benchmarks.md)
PYTEST_JOBS ?= $(shell $(PYTHON) -c 'import os; print((os.cpu_count() or 1) + 1)')
test-toolkit: $(STAMP) $(NODE_STAMP)
	$(BIN)/python -m pytest -q -n $(PYTEST_JOBS)

test-generated: $(STAMP)
	$(foreach p,$(PACKAGES),$(BIN)/tmfgen test $(word 2,$(subst :, ,$(p))) -q &&) true

## test-brokers: the generated conformance suites on every real broker, with SQLite and PostgreSQL,
## alone (a broker that does not answer is skipped with its name, except under CI=true);
## test-toolkit runs the same matrix, beside its other tests
test-brokers: $(STAMP)
	$(BIN)/python tools/conformance_matrix.py

## test: everything CI runs: the drift gate, lint and the generated packages' own tests, one after
## another, beside the toolkit tests (the generated conformance suites on every real broker among
## them), whose workers leave a core idle much of the time; the first group's output is shown
## after the toolkit's. Fails when either group failed.
test: $(STAMP) $(NODE_STAMP)
	@log=$$(mktemp); \
	$(MAKE) --no-print-directory check lint test-generated >$$log 2>&1 & quick=$$!; \
	$(MAKE) --no-print-directory test-toolkit; toolkit=$$?; \
	wait $$quick; quick=$$?; cat $$log; rm -f $$log; \
	[ $$toolkit -eq 0 ] && [ $$quick -eq 0 ]

## golden: refresh the expected trees of tests/cases/*
golden: $(STAMP)
	TMFGEN_UPDATE_GOLDEN=1 $(BIN)/python -m pytest -q tests/generator/test_golden.py

bench: $(STAMP)
	$(BIN)/python bench/generation_bench.py

clean:
	rm -rf $(VENV) tools/asyncapi-validate/node_modules .pytest_cache .mypy_cache .ruff_cache
