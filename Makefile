# The series' commands. A fresh machine needs only two of them:
#   make lab    set up (.venv + requirements) and open the notebooks in JupyterLab
#   make test   set up and run every test, then execute every notebook in quick mode
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST := $(PY) -m pytest -p no:cacheprovider

.PHONY: install lab test test-unit test-notebooks series results benchmarks badges

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
# and nbval gives every notebook a kernel of its own.
test: install
	$(PYTEST) tests -m "not tensorflow"
	$(PYTEST) tests -m "tensorflow" || [ $$? = 5 ]  # 5: no test has the marker
	CATSDOGS_QUICK=1 $(PYTEST) --nbval-lax --nbval-current-env notebooks

test-unit: install
	$(PYTEST) tests -m "not tensorflow"

test-notebooks: install
	CATSDOGS_QUICK=1 $(PYTEST) --nbval-lax --nbval-current-env notebooks

results: install
	$(PY) -m helpers.results
