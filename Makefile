# lkbuild — developer entry points. `make demo` and `make test` work on a fresh machine with Python 3.11.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
EXTRAS := dora,ros2,bundle,test
PYTEST_ARGS ?=

.PHONY: help install system-deps demo test test-unit test-e2e bench clean

help:
	@echo "make install      create $(VENV) with lkbuild (editable) and every engine's and test's dependencies"
	@echo "make demo         install, then compile and run the robot example (native, then dora)"
	@echo "make test         install, then run the whole test suite (unit + e2e with real dora, colcon, docker)"
	@echo "make system-deps  apt packages the tests need (docker.io, mmdebstrap, zstd; chromium for the graph page; root)"
	@echo "make bench        run the benchmarks in bench/"

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[$(EXTRAS)]'
	touch $@

system-deps:
	@if ! command -v dockerd >/dev/null || ! command -v mmdebstrap >/dev/null || ! command -v zstd >/dev/null \
			|| ! test -x /usr/bin/chromium; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io mmdebstrap zstd chromium >/dev/null; \
	fi

DEMO := .lk_build/demo

demo: install
	$(BIN)/lkbuild check examples/robot/robot.py
	rm -rf $(DEMO)
	$(BIN)/lkbuild launch examples/robot/robot.py --engine native --iterations 20 --record $(DEMO)/native
	$(BIN)/lkbuild launch examples/robot/robot.py --engine dora --iterations 20 --record $(DEMO)/dora
	@echo "Last velocity commands (dora):"; tail -n 3 $(DEMO)/dora/controller.jsonl
	@diff -r $(DEMO)/native $(DEMO)/dora >/dev/null && echo "native and dora recorded identical outputs ($(DEMO))"

test: install system-deps
	$(BIN)/pytest -q $(PYTEST_ARGS)

test-unit: install
	$(BIN)/pytest -q tests/unit $(PYTEST_ARGS)

test-e2e: install system-deps
	$(BIN)/pytest -q tests/e2e $(PYTEST_ARGS)

bench: install
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf .lk_build build dist *.egg-info .pytest_cache
