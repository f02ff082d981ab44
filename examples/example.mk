# Targets shared by every example. An example's Makefile sets NAME (its system file is NAME.py) and
# ITERATIONS, then includes this file. Uses the repository's .venv when present, else `lkbuild` on PATH.
LKBUILD    ?= $(firstword $(wildcard ../../.venv/bin/lkbuild) lkbuild)
SYSTEM     := $(NAME).py
ENGINE     ?=
RUN_ENGINE ?= native

.PHONY: help check run run-dora compile graph clean

help::
	@echo "make check      validate the system, every problem with file:line"
	@echo "make run        run it on $(RUN_ENGINE) (ITERATIONS=$(ITERATIONS))"
	@echo "make run-dora   run it as a dora-rs dataflow"
	@echo "make compile    write .lk_build/ (ENGINE=native|dora|ros2; default: the nodes' engine)"
	@echo "make graph      draw the system into $(NAME).html (and print it as Mermaid)"
	@echo "make clean      remove .lk_build/ and the drawing"

check:
	$(LKBUILD) check $(SYSTEM)

run:
	$(LKBUILD) launch $(SYSTEM) -e $(RUN_ENGINE) -n $(ITERATIONS)

run-dora:
	$(LKBUILD) launch $(SYSTEM) -e dora -n $(ITERATIONS)

compile:
	$(LKBUILD) compile $(SYSTEM) $(if $(ENGINE),-e $(ENGINE))

graph:
	$(LKBUILD) graph $(SYSTEM)
	$(LKBUILD) graph $(SYSTEM) --format html --output $(NAME).html

clean:
	$(LKBUILD) clean
	rm -f $(NAME).html
