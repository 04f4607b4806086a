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
# On a machine that other jobs keep busy, `make test OMP_WAIT_POLICY=passive` makes idle torch
# threads sleep instead of spin (several times faster there); on an idle machine the default
# is faster (section 1: 56 s vs 97 s on 2 cores), so it is not set by default.
OMP_WAIT_POLICY ?=
RUN_ENV := D2L_MODE=demo D2L_DATA_DIR=$(DATA_DIR) TQDM_DISABLE=1 MPLBACKEND=Agg $(if $(OMP_WAIT_POLICY),OMP_WAIT_POLICY=$(OMP_WAIT_POLICY)) PATH=$(CURDIR)/$(VENV)/bin:$$PATH
# The notebooks are executed once (nbval, demo mode) into this folder; the book is built
# from the executed copies. `make book EXECUTED=_build/executed/full` builds from a full run.
DEMO_EXECUTED := _build/executed/demo
EXECUTED ?=
NBVAL := $(PY) -m pytest chapters --nbval-lax --nbval-current-env --nbval-cell-timeout=900 -p no:cacheprovider

.PHONY: help install test unit notebooks book full rehearse gpu-check browsers lab bench clean-notebooks check-notebooks exports sync-exports clean

help:
	@echo "make test   install what is missing, run unit tests, every notebook (demo mode, nbval),"
	@echo "            build the book from those runs and check every page in headless Chromium"
	@echo "make book   install what is missing, execute every notebook (demo) and build _build/html"
	@echo "make full   execute every notebook in full mode (GPU + network) into _build/executed/full"
	@echo "make book EXECUTED=_build/executed/full   build the book from those, without re-running"
	@echo "make rehearse   every notebook in full mode on stand-in data, D2L_FAST_DEV_RUN=1 (CI runs it)"
	@echo "make gpu-check  on a CUDA machine: full presets on stand-ins, timed; results/gpu-check/"
	@echo "make bench  run the benchmarks"
	@echo "make lab    open the notebooks in JupyterLab"
	@echo "make clean-notebooks  strip outputs except '# NBVAL_CHECK_OUTPUT' cells, add the Colab cell"
	@echo "make check-notebooks  only check that (python -m tools.notebooks --check)"
	@echo "make exports  check that notebook export cells equal the package and every __all__"
	@echo "              lists what its module defines (python -m tools.export; make test runs it)"
	@echo "make sync-exports  copy the notebooks' exported definitions into d2lhelpers/, then check"

install: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -c "import torch, torchvision" 2>/dev/null || $(PY) -m pip install $(TORCH_PACKAGES)
	$(PY) -m pip install -r requirements.txt -e .
	touch $@

# unit tests, then every notebook under nbval (kept executed), the book from those, and the
# browser check of the built pages
test: $(STAMP)
	$(RUN_ENV) $(PY) -m pytest tests -p no:cacheprovider
	$(MAKE) --no-print-directory notebooks
	$(RUN_ENV) $(PY) -m tools.build_book --executed $(DEMO_EXECUTED)
	$(MAKE) --no-print-directory browsers
	$(PY) -m tools.check_book

# Debian's Chromium, its driver and a CJK font (so screenshots show the Chinese text, not
# boxes), for the browser check (python -m tools.check_book)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
BROWSER_PACKAGES := chromium chromium-driver fonts-wqy-microhei
browsers:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] && \
		[ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ]; then :; else \
		echo "installing Debian's $(BROWSER_PACKAGES) (browser check)"; \
		$(SUDO) apt-get update -q && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(BROWSER_PACKAGES); fi

# every notebook in full mode (CUDA GPU and network; fails fast naming what is missing),
# resumable; FORCE=1 starts over. Then: make book EXECUTED=_build/executed/full
full: $(STAMP)
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(PY) -m tools.run_full $(if $(FORCE),--force)

unit: $(STAMP)
	$(RUN_ENV) $(PY) -m pytest tests -p no:cacheprovider

notebooks: $(STAMP)
	rm -rf $(DEMO_EXECUTED)
	$(RUN_ENV) D2L_EXECUTED_DIR=$(CURDIR)/$(DEMO_EXECUTED) $(NBVAL)
	@$(PY) -m tools.results_page --timings $(DEMO_EXECUTED)

book: $(STAMP)
ifeq ($(EXECUTED),)
	$(MAKE) --no-print-directory notebooks
	$(RUN_ENV) $(PY) -m tools.build_book --executed $(DEMO_EXECUTED)
else
	$(RUN_ENV) $(PY) -m tools.build_book --executed $(EXECUTED) --how "make full"
endif

lab: $(STAMP)
	$(PY) -c "import jupyterlab" 2>/dev/null || $(PY) -m pip install jupyterlab
	$(RUN_ENV) $(VENV)/bin/jupyter lab chapters

# full mode end to end on this machine: stand-in data and weights at the real sizes
# (_build/standin, made once), every notebook as a script with mode=full, each loop cut
# after REHEARSE_BATCHES batches; names the notebook and cell of any failure
REHEARSE_BATCHES ?= 1
rehearse: $(STAMP)
	$(PY) -m tools.rehearse --fast-dev-run $(REHEARSE_BATCHES)

# For a CUDA machine that has only torch, torchvision and the runtime libraries (no
# Jupyter, no network, no install): the checkout's own python path, the venv if there is one.
GPU_PY := $(if $(wildcard $(PY)),$(PY),$(PYTHON))
gpu-check:
	PYTHONPATH=$(CURDIR) $(GPU_PY) -m tools.gpu_check

bench: $(STAMP)
	$(RUN_ENV) $(PY) benchmarks/augmentation.py
	$(RUN_ENV) $(PY) benchmarks/detection.py
	$(RUN_ENV) $(PY) benchmarks/segmentation.py

clean-notebooks: $(STAMP)
	$(PY) -m tools.notebooks chapters/*.ipynb

check-notebooks: $(STAMP)
	$(PY) -m tools.notebooks --check chapters/*.ipynb

# the notebooks are the source of exported code: check, or copy them into the package first
exports: $(STAMP)
	$(PY) -m tools.export

sync-exports: $(STAMP)
	$(PY) -m tools.export --write

clean:
	rm -rf _build .pytest_cache
