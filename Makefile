# Two commands do all set-up on a fresh machine:  make book  and  make test.
# Everything is installed into a virtual environment ($(VENV)); nothing global is touched.

VENV ?= .venv
PYTHON ?= python3
# The torch build tested with this book; requirements.txt itself takes ranges (Colab's torch fits).
TORCH_PACKAGES ?= torch==2.14.1 torchvision==0.29.1
# Demo data, demo "pretrained" weights and downloads go here (D2L_DATA_DIR).
DATA_DIR ?= $(CURDIR)/data

PY := $(VENV)/bin/python
STAMP := $(VENV)/.d2l-installed
# Demo mode, no progress bars in stored outputs, a non-interactive matplotlib backend.
RUN_ENV := D2L_MODE=demo D2L_DATA_DIR=$(DATA_DIR) TQDM_DISABLE=1 MPLBACKEND=Agg PATH=$(CURDIR)/$(VENV)/bin:$$PATH

.PHONY: help install test unit notebooks book lab bench clean-notebooks check-notebooks clean

help:
	@echo "make test   install what is missing, run unit tests and every notebook (demo mode)"
	@echo "make book   install what is missing, execute every notebook (demo) and build _build/html"
	@echo "make bench  run the benchmarks"
	@echo "make lab    open the notebooks in JupyterLab"
	@echo "make clean-notebooks  strip outputs except '# NBVAL_CHECK_OUTPUT' cells"

install: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -c "import torch, torchvision" 2>/dev/null || $(PY) -m pip install $(TORCH_PACKAGES)
	$(PY) -m pip install -r requirements.txt -e .
	touch $@

test: $(STAMP)
	$(RUN_ENV) $(PY) -m pytest tests chapters --nbval-lax --nbval-current-env \
		--nbval-cell-timeout=900 -p no:cacheprovider

unit: $(STAMP)
	$(RUN_ENV) $(PY) -m pytest tests

notebooks: $(STAMP)
	$(RUN_ENV) $(PY) -m pytest chapters --nbval-lax --nbval-current-env --nbval-cell-timeout=900

book: $(STAMP)
	$(RUN_ENV) $(VENV)/bin/jupyter-book build . --all --warningiserror --keep-going
	@test -f _build/html/index.html && echo "book: _build/html/index.html"

lab: $(STAMP)
	$(PY) -c "import jupyterlab" 2>/dev/null || $(PY) -m pip install jupyterlab
	$(RUN_ENV) $(VENV)/bin/jupyter lab chapters

bench: $(STAMP)
	$(RUN_ENV) $(PY) benchmarks/augmentation.py
	$(RUN_ENV) $(PY) benchmarks/detection.py

clean-notebooks: $(STAMP)
	$(PY) tools/clean_notebooks.py chapters/*.ipynb

check-notebooks: $(STAMP)
	$(PY) tools/clean_notebooks.py --check chapters/*.ipynb

clean:
	rm -rf _build .pytest_cache
