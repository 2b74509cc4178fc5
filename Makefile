# paraser — set up, demo, tests, benchmarks, reproduction.
# `make demo` creates .venv, installs paraser (CPU torch first, so no CUDA wheels) and runs the demo.
# `make test` runs the test suite.

VENV ?= .venv
PY := $(VENV)/bin/python
PARASER := $(VENV)/bin/paraser
PIP := $(PY) -m pip --disable-pip-version-check -q
PARASER_DATA ?= ../shared/corpora
JOBS ?= 2

.PHONY: setup demo test lint validate-stats check-report bench bench-small nkululeko-venv fault-drill reproduce-paper reproduce-multilingual reproduce-pooled study-adaptation study-augmentation study-few-shot mutation clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -d $(VENV) || python3 -m venv $(VENV)
	$(PIP) install --upgrade pip
	$(PIP) install torch==2.13.0
	$(PIP) install -e ".[dev,xlsr,augment,dask,importers]"
	touch $@

demo: setup
	$(PARASER) demo --force --jobs $(JOBS)

test: setup
	$(VENV)/bin/pytest -q

lint: setup
	$(VENV)/bin/ruff check paraser tests bench scripts
	$(VENV)/bin/ruff format --check paraser tests bench scripts

# Do the tests and CIs hold their level and coverage on clustered (speaker) data? Simulations
# with known truth; prints one table and fails if a check misses its target (~6 min, 1 core).
validate-stats: setup
	$(PY) -m paraser.reports.validation --n 3000

# Look at a report as a reader would (issue 17): report.html rendered by headless Chromium,
# tables.tex compiled in one- and two-column articles (overfull boxes listed), figures listed;
# images in reports/check/. Needs chromium, pdflatex (booktabs, siunitx) and pdftoppm:
# apt-get install chromium texlive-latex-extra texlive-science poppler-utils.
RUN ?= reports/demo
check-report: setup
	$(PY) scripts/check_report.py $(RUN) --out reports/check

# Mutation testing (mutmut) over the modules whose bugs change numbers, configured in
# pyproject.toml [tool.mutmut]; the score and every surviving mutant go in MUTATION.md.
# Not part of .ci/run (about an hour on 2 cores for all modules). One module:
# `make mutation MUTANTS='paraser.reports.inversion*'`.
MUTANTS ?=
# mutants/ must exist when Python starts, or the import system caches its absence and the
# tests import the unmutated package (mutmut then finds no test covering any mutant).
mutation: setup
	mkdir -p mutants
	PYTHONPATH=$(CURDIR)/mutants $(VENV)/bin/mutmut run --max-children $(JOBS) $(MUTANTS)
	$(VENV)/bin/mutmut results

# [5] times the 4x4 job against nkululeko's multidb when a Python with nkululeko is found:
# NKULULEKO_PYTHON (e.g. `make bench NKULULEKO_PYTHON=.venv-nkululeko/bin/python`, or exported),
# else .venv's own if it has nkululeko; otherwise [5] says how to install it and is skipped.
bench: setup
	$(PY) bench/run.py --data $(PARASER_DATA)

bench-small: setup
	$(PY) bench/run.py --data $(PARASER_DATA) --small

# nkululeko in a venv of its own (its pins clash with paraser's), CPU torch first as in setup;
# then `make bench NKULULEKO_PYTHON=$(NKULULEKO_VENV)/bin/python`.
NKULULEKO_VENV ?= .venv-nkululeko
nkululeko-venv: $(NKULULEKO_VENV)/.installed

$(NKULULEKO_VENV)/.installed:
	test -d $(NKULULEKO_VENV) || python3 -m venv $(NKULULEKO_VENV)
	$(NKULULEKO_VENV)/bin/pip install --disable-pip-version-check -q torch==2.13.0
	$(NKULULEKO_VENV)/bin/pip install --disable-pip-version-check -q nkululeko==1.14.1
	touch $@

# Every adversarial case of issue 15 against the CLI (bad audio, damaged caches, read-only and
# full disks, SIGKILLs, concurrent runs, bad manifests): one table, rows lost and stale vectors
# served must be 0 (exit 1 otherwise). About 3 min on 2 cores.
fault-drill: setup
	$(PY) bench/fault_drill.py

# Syed et al. (2020) on their Urdu-Sindhi feature tables (PARASER_URDU_SINDHI or
# data/urdu_sindhi/); without them it prints where to get them and exits 0.
reproduce-paper: setup
	$(PARASER) reproduce paper_syed2020 --force --jobs $(JOBS)

# The same protocol on EmoDB, EMOVO, URDU and TurEV-DB in $(PARASER_DATA); report in
# reports/multilingual (long: five feature sets incl. ComParE on ~3,000 files).
reproduce-multilingual: setup
	PARASER_DATA=$(PARASER_DATA) $(PARASER) reproduce multilingual --force --jobs $(JOBS)

CORPORA ?= emodb,emovo,turev,urdu

# Why transfer fails and what recovers it (issue 9): shift diagnostics, their correlation with
# the UAR drop, and unsupervised adaptation with paired gains, in one report (~4 min, 2 cores).
study-adaptation: setup
	$(PARASER) transfer-matrix --force --corpora $(CORPORA) --features egemaps,is10 --classifiers svm \
		--adapt none,corpus-norm,speaker-norm,coral,importance,prior-em --jobs $(JOBS) \
		--out reports/adaptation
	$(PARASER) shift --corpora $(CORPORA) --features egemaps,is10 --jobs $(JOBS) \
		--out reports/adaptation
	$(PARASER) report reports/adaptation

# Does augmentation close the transfer gap (issue 10): four recipes, pooled and
# leave-one-corpus-out sources, paired gains and extraction cost (~6 min cold, 2 cores).
study-augmentation: setup
	$(PARASER) transfer-matrix --force --corpora $(CORPORA) --features egemaps --classifiers svm \
		--augment none,noise:snr=5-20,tempo:0.9-1.1,pitch:-2..2,channel:tel --augment-copies 1 \
		--pool emodb+emovo --loco --jobs $(JOBS) --out reports/augmentation
	$(PARASER) report reports/augmentation

SHOTS ?= 0,5,10,20,50
SHOT_DRAWS ?= 5

# Beyond shared categories and beyond zero-shot (issue 18): few-shot target curves on the
# arousal task (the four categorical corpora + BAVED) and on the categorical task (the four),
# eGeMAPS + SVM, in one report: reports/few-shot/report.md (~15 min on 2 cores).
study-few-shot: setup
	$(PARASER) transfer-matrix --force --corpora $(CORPORA),baved --task arousal --features egemaps \
		--classifiers svm --target-shots $(SHOTS) --shot-draws $(SHOT_DRAWS) --jobs $(JOBS) \
		--out reports/few-shot/arousal
	$(PARASER) report reports/few-shot/arousal
	$(PARASER) transfer-matrix --force --corpora $(CORPORA) --features egemaps --classifiers svm \
		--target-shots $(SHOTS) --shot-draws $(SHOT_DRAWS) --jobs $(JOBS) \
		--out reports/few-shot/categorical
	$(PARASER) report reports/few-shot/categorical
	$(PARASER) fewshot-report reports/few-shot reports/few-shot/arousal reports/few-shot/categorical

# Pooled RAVDESS + SAVEE with augmentation beside the published 66.7 % / 0.631 (issue 10),
# from ravdess/ and savee/ in $(PARASER_DATA); without them it says where to put them, exit 0.
reproduce-pooled: setup
	PARASER_DATA=$(PARASER_DATA) $(PARASER) reproduce pooled_ravdess_savee --force --jobs $(JOBS)

clean:
	rm -rf demo_data reports/demo features_cache/synth_*
