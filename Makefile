# The series' commands. A fresh machine needs only two of them:
#   make lab    set up (.venv + requirements) and open the notebooks in JupyterLab
#   make test   set up and run every test, then execute every notebook in quick mode
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST := $(PY) -m pytest -p no:cacheprovider

.PHONY: install lab test test-unit test-tensorflow test-notebooks check-clean screenshots series results benchmarks badges lessons records

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -e .
	$(PY) -c "import torch, torchvision; print('torch', torch.__version__, 'torchvision', torchvision.__version__)"
	touch $@

install: $(VENV)/.installed

lab: install
	$(VENV)/bin/jupyter lab notebooks/

# TensorFlow and PyTorch never share a process (importing tensorflow, then torch,
# crashes): the unit tests run twice, without and with the tests marked `tensorflow`,
# and nbval gives every notebook a kernel of its own. Last, the checkout must be as the
# tests found it (they write under data/ or a temporary folder only).
CLEAN_BEFORE := data/ci/git-status-before.txt
CLEAN_AFTER := data/ci/git-status-after.txt

test: install
	@mkdir -p data/ci && (git status --porcelain 2>/dev/null || true) > $(CLEAN_BEFORE)
	$(PYTEST) tests -m "not tensorflow"
	$(PYTEST) tests -m "tensorflow" || [ $$? = 5 ]  # 5: no test has the marker
	CATSDOGS_QUICK=1 $(PYTEST) --nbval-lax --nbval-current-env notebooks
	@$(MAKE) --no-print-directory check-clean

test-unit: install
	$(PYTEST) tests -m "not tensorflow"

test-tensorflow: install
	$(PYTEST) tests -m "tensorflow" || [ $$? = 5 ]

test-notebooks: install
	CATSDOGS_QUICK=1 $(PYTEST) --nbval-lax --nbval-current-env notebooks

# Fails when a file git knows about (or one it does not ignore) changed since $(CLEAN_BEFORE) was written.
check-clean:
	@mkdir -p data/ci && (git status --porcelain 2>/dev/null || true) > $(CLEAN_AFTER)
	@test -f $(CLEAN_BEFORE) || cp $(CLEAN_AFTER) $(CLEAN_BEFORE)
	@if ! cmp -s $(CLEAN_BEFORE) $(CLEAN_AFTER); then \
		echo "The tests changed the checkout (git status --porcelain before -> after):"; \
		diff $(CLEAN_BEFORE) $(CLEAN_AFTER); exit 1; fi
	@echo "The checkout is as the tests found it."

# The committed JupyterLab screenshots (images/browser/) are updated only on request;
# `make test` writes its screenshots to data/screenshots/.
screenshots: install
	CATSDOGS_SCREENSHOTS=images/browser $(PYTEST) tests/test_browser.py -k runs_in_jupyterlab

results: install
	$(PY) -m helpers.results

# Run the series (or ONLY="05 07") in order, one kernel per notebook, outputs in data/series/:
#   make series IMAGES=~/photos EPOCHS=3 ONLY="05 07" QUICK=1
# Every other UPPER_CASE variable on the command line becomes a papermill override (-p NAME VALUE)
# for the notebooks whose parameters cell has that name.
SERIES_OPTIONS := IMAGES ONLY QUICK TIMEOUT PYTHON VENV PY PYTEST SHELL
SERIES_OVERRIDES = $(strip $(foreach v,$(filter-out $(SERIES_OPTIONS),$(.VARIABLES)),$(if $(filter command line,$(origin $(v))),-p $(v) '$($(v))')))
series: install
	$(PY) tools/run_series.py $(if $(IMAGES),--images '$(IMAGES)') $(if $(ONLY),--only $(ONLY)) $(if $(QUICK),--quick) $(if $(TIMEOUT),--timeout $(TIMEOUT)) $(SERIES_OVERRIDES)

# Every benchmarks/bench_*.py in a process of its own, then one Markdown table (data/benchmarks/*.json).
benchmarks: install
	$(PY) benchmarks/run_all.py

# Rewrite the Colab badges, navigation, install lines and metadata from helpers.setup.REPO_URL.
badges: install
	$(PY) tools/notebooks_meta.py

# Rewrite lessons/*.py from the notebooks' `#| export` cells (tests/test_lessons.py fails while one is stale).
lessons: install
	$(PY) tools/export_lessons.py

# Refill every number the README and the notebooks quote from records/ (tests fail while one is stale).
# A real run becomes a record with: $(PY) tools/publish_records.py promote data/results/<notebook>.json <notebook>/<label>
records: install
	$(PY) tools/publish_records.py
