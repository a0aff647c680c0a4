# Each target sets itself up: a virtual environment in .venv with torch's CPU build
# (torch==2.13.0, a local wheel here) installed before pirho, so that pirho's own
# requirement (torch>=2.1) is already met and pip never pulls a CUDA build.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.pirho-installed
TORCH  ?= torch==2.13.0
export OMP_WAIT_POLICY ?= PASSIVE

.PHONY: install demo test test-slow docs-check notebooks lint format bench clean-cache

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH)"
	$(PY) -m pip install -q -e ".[dev,browser,corpora,sklearn,dask]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/pirho demo

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks examples
	$(VENV)/bin/ruff format --check src tests benchmarks examples

format: $(STAMP)
	$(VENV)/bin/ruff check --fix src tests benchmarks examples
	$(VENV)/bin/ruff format src tests benchmarks examples

test: lint
	$(PY) -m pytest

test-slow: $(STAMP)
	$(PY) -m pytest -m slow

# Re-run every quick command documented in README.md and docs/ (blocks after
# <!-- docs-check -->) and compare what it prints with the docs (tests/test_docs.py).
docs-check: $(STAMP)
	$(PY) -m pytest -m docs tests/test_docs.py -v

# Execute notebooks/*-en.ipynb and *-zh.ipynb from a clean kernel (tests/test_notebooks.py);
# a few minutes on 2 cores.
notebooks: $(STAMP)
	$(PY) -m pytest -m notebooks tests/test_notebooks.py -v

bench: $(STAMP)
	$(PY) benchmarks/hmm_vs_hmmlearn.py
	$(PY) benchmarks/birnn_vs_torch.py
	$(PY) benchmarks/families_vs_hmmlearn.py

# numba's kernel cache checks only each function's own file. pirho/hmm/_compiled/ is one cache
# unit (pirho._numba.cache_unit: an edit there recompiles all of it); after editing a kernel that
# a file outside its unit calls, drop the cache so everything recompiles.
clean-cache:
	find src -name '*.nbi' -delete -o -name '*.nbc' -delete
