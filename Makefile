# socklab: every entry point of the kit (README.md explains each one).
#
#   make grade [SUBMISSION=DIR] [OUT=DIR]   grade the steps, write the reports
#                                           (VALGRIND=0: no memory check, faster;
#                                           BUDGET=S: checks not started after S s score 0;
#                                           FORMAT=prairielearn: PrairieLearn's results.json)
#   make grade CLASS=DIR [JOBS=N] [OUT=DIR] grade every student folder of DIR, a gradebook
#                                           (STEP=NN: that step only, merged into OUT's gradebook)
#   make check STEP=NN                      build and grade one step (exit 0 if it passes)
#                                           (SEED=S replays random session S; SEED=random [SESSIONS=N] explores)
#   make hint STEP=NN [LEVEL=all]           the next hint of a step
#   make test                               the kit's own test suite
#   make handout                            dist/socklab-student.tar.gz (no solutions, no kit tests)
#   make gradescope                         dist/gradescope-autograder.zip
#   make prairielearn                       dist/prairielearn-serverFilesCourse.tar.gz (the grader for a course)
#   make image                              a container image of the grader (dist/socklab-image.oci.tar), as root
#   make bare-machine [GRADE_ONLY=1]        make grade then make test on a bare Debian with only make (as root)
#   make clean                              remove what the kit built

KIT        := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
# Debian's interpreter first: it is the one that sees Debian's pytest. Looked
# up by the shell when a command runs, not when make reads this file: on a bare
# machine, python3 only exists once tools/setup has installed it.
PYTHON     ?= $$(command -v /usr/bin/python3 || command -v python3 || echo python3)
SUBMISSION ?= $(KIT)/steps
OUT        ?= $(KIT)/build/grade
# Not $(abspath ...): it splits a path with spaces into words.
SUB_ABS    := $(if $(filter /%,$(SUBMISSION)),$(SUBMISSION),$(CURDIR)/$(SUBMISSION))
OUT_ABS    := $(if $(filter /%,$(OUT)),$(OUT),$(CURDIR)/$(OUT))
VALGRIND   ?= 1
GRADER      = cd "$(KIT)" && SOCKLAB_VALGRIND="$(VALGRIND)" "$(PYTHON)" -m grader
SETUP       = PYTHON="$(PYTHON)" "$(KIT)/tools/setup"

.PHONY: grade check hint test clean setup handout gradescope prairielearn image bare-machine

grade:
	@$(SETUP) grade
ifdef CLASS
	@$(GRADER) class "$(if $(filter /%,$(CLASS)),$(CLASS),$(CURDIR)/$(CLASS))" --out "$(OUT_ABS)" $(if $(JOBS),--jobs $(JOBS)) $(if $(BUDGET),--budget $(BUDGET)) $(if $(STEP),--step $(STEP))
else
	@$(GRADER) grade --submission "$(SUB_ABS)" --out "$(OUT_ABS)" $(if $(FORMAT),--format $(FORMAT)) $(if $(BUDGET),--budget $(BUDGET))
endif

check:
	@test -n "$(STEP)" || { echo "usage: make check STEP=NN   (for example: make check STEP=01)" >&2; exit 2; }
	@$(SETUP) grade
	@$(GRADER) check "$(STEP)" --submission "$(SUB_ABS)" --out "$(OUT_ABS)" $(if $(FORMAT),--format $(FORMAT)) $(if $(REMOTE),--remote "$(REMOTE)") $(if $(SEED),--seed "$(SEED)") $(if $(SESSIONS),--sessions "$(SESSIONS)")

hint:
	@test -n "$(STEP)" || { echo "usage: make hint STEP=NN [LEVEL=all]" >&2; exit 2; }
	@$(GRADER) hint "$(STEP)" $(if $(filter all,$(LEVEL)),--all)

test:
	@test -d "$(KIT)/tests" || { echo "socklab: this copy is the student handout, without the kit's own tests; 'make grade' grades your work" >&2; exit 2; }
	@$(SETUP) test
	@"$(KIT)/tests/run"

# A target of the kit's own copy, run in the student handout: say so, not "No such file".
KIT_ONLY = @test -e "$(KIT)/$(1)" || { echo "socklab: this copy is the student handout, without $(1): 'make $@' is for the kit's own copy; 'make grade' grades your work" >&2; exit 2; }

handout:
	$(call KIT_ONLY,tools/package)
	@"$(PYTHON)" "$(KIT)/tools/package" handout

gradescope:
	$(call KIT_ONLY,tools/package)
	@"$(PYTHON)" "$(KIT)/tools/package" gradescope

prairielearn:
	$(call KIT_ONLY,tools/package)
	@"$(PYTHON)" "$(KIT)/tools/package" prairielearn

image:
	$(call KIT_ONLY,tools/image/build)
	@PYTHON="$(PYTHON)" "$(KIT)/tools/image/build"

bare-machine:
	@test -d "$(KIT)/tests" || { echo "socklab: this copy is the student handout, without the kit's own tests" >&2; exit 2; }
	@"$(PYTHON)" "$(KIT)/tools/rootfs.py" bare-machine $(if $(filter 1,$(GRADE_ONLY)),--grade-only)

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

# === Students and live sessions ===
#   make watch STEP=NN [SUBMISSION=DIR]       re-check the step on every save (no valgrind unless VALGRIND=1;
#                                             POLL=1 or SOCKLAB_WATCH_POLL=1: poll instead of inotifywait)
#   make peer STEP=NN [PORT=4242] [HOST=H]     the grader's side of a step, live, to try a program by hand
#   make check STEP=NN REMOTE=HOST:PORT        the checks that can, against a server running there
#   make tap LISTEN=PORT TARGET=HOST:PORT      relay every connection and print each chunk, both ways
.PHONY: watch peer tap
WATCH_VALGRIND = $(if $(filter command line environment,$(origin VALGRIND)),$(VALGRIND),0)
CLI_ONLY       = $(if $(filter command line,$(origin $(1))),$($(1)))

watch:
	@test -n "$(STEP)" || { echo "usage: make watch STEP=NN [SUBMISSION=DIR]" >&2; exit 2; }
	@$(SETUP) grade
	@cd "$(KIT)" && SOCKLAB_VALGRIND="$(WATCH_VALGRIND)" "$(PYTHON)" -m grader watch "$(STEP)" --submission "$(SUB_ABS)" $(if $(filter 1,$(POLL)),--poll)

peer:
	@test -n "$(STEP)" || { echo "usage: make peer STEP=NN [PORT=4242] [HOST=localhost]" >&2; exit 2; }
	@$(GRADER) peer "$(STEP)" $(if $(call CLI_ONLY,PORT),--port "$(PORT)") $(if $(call CLI_ONLY,HOST),--host "$(HOST)")

tap:
	@test -n "$(LISTEN)" && test -n "$(TARGET)" || { echo "usage: make tap LISTEN=PORT TARGET=HOST:PORT" >&2; exit 2; }
	@$(GRADER) tap --listen "$(LISTEN)" --target "$(TARGET)"

# === Robustness: fuzzing, sanitizers, flake hunt (README: "Robustness") ===
#   make fuzz [SECONDS=60] [FUZZER=name]   each libFuzzer target of tests/fuzz/ for SECONDS
#   make sanitize [SUBMISSION=DIR]         grade with ASan+UBSan builds (no valgrind)
#   make flaky [RUNS=10] [LOAD=1] [STEPS="01 02"]  grade the solutions RUNS times, report every failure
FUZZ_SECONDS := $(if $(SECONDS),$(SECONDS),60)

.PHONY: fuzz sanitize flaky

fuzz:
	@test -d "$(KIT)/tests" || { echo "socklab: this copy is the student handout, without the kit's fuzz targets" >&2; exit 2; }
	@"$(KIT)/tests/fuzz/run" "$(FUZZ_SECONDS)" "$(FUZZER)"

sanitize:
	@$(SETUP) grade
	@cd "$(KIT)" && SOCKLAB_SANITIZE=1 SOCKLAB_VALGRIND=0 ASAN_OPTIONS="$${ASAN_OPTIONS:-detect_leaks=1}" \
		UBSAN_OPTIONS="$${UBSAN_OPTIONS:-print_stacktrace=1}" "$(PYTHON)" -m grader grade --submission "$(SUB_ABS)" --out "$(OUT_ABS)"

flaky:
	@test -d "$(KIT)/solutions" || { echo "socklab: this copy is the student handout, without the reference solutions" >&2; exit 2; }
	@$(SETUP) test
	@"$(PYTHON)" "$(KIT)/tests/flaky.py" --runs "$(if $(RUNS),$(RUNS),10)" $(if $(filter 1,$(LOAD)),--load) $(foreach s,$(STEPS),--step $(s)) --out "$(KIT)/build/flaky"

# === Benchmark ===
# make bench: the reference multi-server against redis-server (installed when we can),
# same load generator and settings; prints a table, writes build/bench/bench.json.
# BENCH_README=1 also copies the table into README.md. A benchmark: it never fails on speed.
.PHONY: bench
bench:
	$(call KIT_ONLY,tools/bench)
	@"$(PYTHON)" "$(KIT)/tools/bench" $(if $(filter 1,$(BENCH_README)),--readme)

# make bench-share: the reference graded RUNS times (20) in a cgroup of CPUS CPU (0.5) and MEMORY
# MiB (768), Gradescope's default container, with BUSY processes spinning beside it (0); then a
# hanging, a flooding and a spinning submission there. Needs root; build/bench/share.json.
.PHONY: bench-share
bench-share:
	$(call KIT_ONLY,tools/bench-share)
	@"$(PYTHON)" "$(KIT)/tools/bench-share" --runs "$(if $(RUNS),$(RUNS),20)" --cpus "$(if $(CPUS),$(CPUS),0.5)" \
		--memory "$(if $(MEMORY),$(MEMORY),768)" --busy "$(if $(BUSY),$(BUSY),0)" --valgrind "$(VALGRIND)"
