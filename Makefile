# `make test`, `make report` and `make docs` each build the virtual environment from nothing.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# CPU build of torch (an unpinned torch pulls a multi-GB CUDA build).
TORCH  ?= torch==2.13.0
STAMP  := $(VENV)/.installed
DOCS_STAMP := $(VENV)/.installed-docs

.PHONY: venv test test-thorough report docs bench gpu-check lint clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

# the docs extra (Sphinx, MyST, furo) on top of the dev venv
$(DOCS_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[dev,docs]"
	touch $(DOCS_STAMP)

test: venv
	$(BIN)/ruff check divergences gan_theory tests benchmarks
	HYPOTHESIS_PROFILE=ci $(BIN)/python -m pytest -q -m "not slow"

test-thorough: venv
	HYPOTHESIS_PROFILE=thorough $(BIN)/python -m pytest -q

report: venv
	$(BIN)/gan-theory report --out report

# the site: guide (docs/*.md), API reference (docstrings), a small derivation report (report/);
# -W: any warning fails the build; -E: every page is read again (no warning hidden by a cache)
docs: $(DOCS_STAMP)
	rm -rf build/docs
	$(BIN)/sphinx-build -W --keep-going -E -q -b html -d build/doctrees docs build/docs
	@echo "docs: build/docs/index.html"

bench: venv
	mkdir -p .benchmarks
	$(BIN)/python -m pytest benchmarks --benchmark-only -q -o python_files='bench_*.py' \
		--benchmark-json=.benchmarks/latest.json
	$(BIN)/python -m benchmarks.ratios .benchmarks/latest.json

# CUDA tests and a GPU timing sweep into .benchmarks/gpu-check.json; says so and exits 0 without CUDA
gpu-check: venv
	$(BIN)/python -m benchmarks.gpu_check

lint: venv
	$(BIN)/ruff check divergences gan_theory tests benchmarks

clean:
	rm -rf $(VENV) report .pytest_cache .benchmarks build/docs build/doctrees .artifacts
