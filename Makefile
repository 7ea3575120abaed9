# socklab: every entry point of the kit (README.md explains each one).
#
#   make grade [SUBMISSION=DIR] [OUT=DIR]   grade the steps, write the reports
#                                           (VALGRIND=0: no memory check, faster)
#   make grade CLASS=DIR [JOBS=N] [OUT=DIR] grade every student folder of DIR, a gradebook
#   make check STEP=NN                      build and grade one step (exit 0 if it passes)
#   make hint STEP=NN [LEVEL=all]           the next hint of a step
#   make test                               the kit's own test suite
#   make handout                            dist/socklab-student.tar.gz (no solutions, no kit tests)
#   make gradescope                         dist/gradescope-autograder.zip
#   make clean                              remove what the kit built

KIT        := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
# Debian's interpreter first: it is the one that sees Debian's pytest.
PYTHON     ?= $(shell for p in /usr/bin/python3 python3; do command -v $$p >/dev/null 2>&1 && { command -v $$p; break; }; done)
SUBMISSION ?= $(KIT)/steps
OUT        ?= $(KIT)/build/grade
SUB_ABS    := $(abspath $(SUBMISSION))
OUT_ABS    := $(abspath $(OUT))
VALGRIND   ?= 1
GRADER      = cd "$(KIT)" && SOCKLAB_VALGRIND="$(VALGRIND)" "$(PYTHON)" -m grader
SETUP       = PYTHON="$(PYTHON)" "$(KIT)/tools/setup"

.PHONY: grade check hint test clean setup handout gradescope

grade:
	@$(SETUP) grade
ifdef CLASS
	@$(GRADER) class "$(abspath $(CLASS))" --out "$(OUT_ABS)" $(if $(JOBS),--jobs $(JOBS)) $(if $(BUDGET),--budget $(BUDGET))
else
	@$(GRADER) grade --submission "$(SUB_ABS)" --out "$(OUT_ABS)" $(if $(FORMAT),--format $(FORMAT))
endif

check:
	@test -n "$(STEP)" || { echo "usage: make check STEP=NN   (for example: make check STEP=01)" >&2; exit 2; }
	@$(SETUP) grade
	@$(GRADER) check "$(STEP)" --submission "$(SUB_ABS)" --out "$(OUT_ABS)" $(if $(FORMAT),--format $(FORMAT))

hint:
	@test -n "$(STEP)" || { echo "usage: make hint STEP=NN [LEVEL=all]" >&2; exit 2; }
	@$(GRADER) hint "$(STEP)" $(if $(filter all,$(LEVEL)),--all)

test:
	@test -d "$(KIT)/tests" || { echo "socklab: this copy is the student handout, without the kit's own tests; 'make grade' grades your work" >&2; exit 2; }
	@$(SETUP) test
	@"$(KIT)/tests/run"

handout:
	@"$(PYTHON)" "$(KIT)/tools/package" handout

gradescope:
	@"$(PYTHON)" "$(KIT)/tools/package" gradescope

clean:
	rm -rf "$(KIT)/build" "$(KIT)/dist" "$(KIT)/slides/build"
	@for d in "$(KIT)"/steps/[0-9]*/ "$(KIT)"/solutions/[0-9]*/; do $(MAKE) -s -C "$$d" clean >/dev/null 2>&1 || true; done

# === Slides ===
# make slides: the workshop deck, slides/src/*.md -> slides/build/deck.html (self-contained)
# and slides/build/deck.pdf when Chromium is installed (SLIDES_PDF=0: HTML only). Marp CLI
# is pinned in slides/package-lock.json; the first build installs it with npm ci.
.PHONY: slides
slides:
	@"$(KIT)/slides/make-deck"
