# The kit's lab sessions, one command each. `make help` lists them.
# Programs are found from the folders (CONTRIBUTING.md); nothing here names an example.
SHELL := /bin/bash
CC ?= cc
CFLAGS ?= -g
# Where the C programs go: bin/c, or bin/c-asan for make build-c-asan
C_BIN ?= bin/c
SWIFT ?= swift
# SwiftPM caches what Package.swift computed; the kit's manifest reads the folders,
# so re-read it each time or a newly added program would not be built.
# And when programs.txt changed since the last build, SwiftPM may still reuse its build
# plan (a new helper file would not be compiled): drop the plan, so it is made anew.
FRESH_PLAN := for plan in .build/debug.yaml .build/*/debug/description.json; do \
  [ ! -e "$$plan" ] || [ "$$plan" -nt programs.txt ] || rm -f "$$plan"; done
SWIFTPM := $(SWIFT) build --manifest-cache none

SERVER ?= c
CLIENT ?= swift
INPUT ?= hello from the kit
export SERVER CLIENT INPUT

# make nat-lab (scripts/nat-lab): the NATs' kind and the two peers' flavors; the
# rendezvous server's flavor is SERVER's.
MODE ?= cone
A ?= c
B ?= c

# Labs (labs/README.md): which lab, the starter's language, what to grade, where to
# write Gradescope's results.json, and a class's submissions with where their grades go.
LAB ?=
LANGUAGE ?= c
SOLUTION ?=
SAMPLE ?=
RESULTS ?= results.json
SUBMISSIONS ?=
GRADES ?= grades
PITFALLS := $(sort $(basename $(notdir $(wildcard pitfalls/*.c pitfalls/*.sh))))
LABS := $(notdir $(patsubst %/,%,$(sort $(dir $(wildcard labs/[0-9]*/README.md)))))

# Every list below comes from programs.txt, through scripts/inventory.
INVENTORY := scripts/inventory
EXAMPLES := $(shell $(INVENTORY) --print example | uniq)
C_PROGRAMS := $(shell $(INVENTORY) --flavor c --print program)
# Servers besides <example>-server, each a demo of its own: tcp-capitalize-fork-server.
VARIANT_SERVERS := $(shell $(INVENTORY) --kind variant --print program)
FLAVORS := c $(filter-out c,$(shell $(INVENTORY) --print flavors | tr ' ' '\n' | sort -u))
# The lectures' own Python and Java (PySources/, JavaSources/): scripts/build-flavor
# builds them; every other flavor but c is Swift, built by SwiftPM.
SCRIPT_FLAVORS := $(filter python java,$(FLAVORS))
SWIFT_FLAVORS := $(filter-out c $(SCRIPT_FLAVORS),$(FLAVORS))
# A session of C, Python and Java only (SERVER=c CLIENT=python) builds no Swift at all.
EXAMPLE_BUILD := $(if $(filter-out c $(SCRIPT_FLAVORS),$(SERVER) $(CLIENT)),build,build-c build-scripts)

.PHONY: help build build-c build-swift build-scripts demo test soak fuzz build-c-asan check-c listings line-counts diagrams diagram-data bench clean lab grade grade-all nat-lab \
  $(EXAMPLES) $(VARIANT_SERVERS) \
  $(addprefix trace-,$(EXAMPLES)) $(addprefix pitfall-,$(PITFALLS))

help:
	@echo "The kit: lecture socket programs in C, Swift, Python and Java, every client against every server."
	@echo
	@echo "  make build            every program of every flavor into bin/<flavor>/<program>"
	@echo "  make demo             every example once: a C server and a Swift client"
	@echo "  make test             all tests: swift test (the cross-language matrix) and C checks"
	@echo
	@echo "Examples (run the server and client, show both transcripts):"
	@$(foreach e,$(EXAMPLES),echo "  make $e";)
	@$(foreach v,$(VARIANT_SERVERS),echo "  make $v";)
	@echo "  Flavors: SERVER=<flavor> CLIENT=<flavor>, from: $(FLAVORS) (now SERVER=$(SERVER) CLIENT=$(CLIENT))"
	@echo "  A client's standard input: INPUT='some text' (now '$(INPUT)')"
	@echo "  C only, no Swift built: make tcp-hello SERVER=c CLIENT=c (and make check-c)"
	@echo "  Another port or host: KIT_PORT=9000 KIT_HOST=127.0.0.1 make tcp-hello"
	@echo
	@echo "Labs (labs/README.md): a starter to work on, and a grader that checks it:"
	@$(foreach l,$(LABS),echo "  $l";)
	@echo "  make lab LAB=01       copy lab 01's starter to my-labs/01-.../ (LANGUAGE=swift for Swift)"
	@echo "  make grade LAB=01     grade my-labs/01-.../ (SOLUTION=dir for another folder)"
	@echo "  make grade LAB=01 SAMPLE=wrong/client-fixed-port   grade one of the lab's own (starter/c, reference/swift, wrong/...)"
	@echo "  make grade-all LAB=01 SUBMISSIONS=dir   a folder per student -> $(GRADES)/scores.csv"
	@echo
	@echo "Pitfalls (lectures/pitfalls.md): each shows the mistake going wrong, then its fix:"
	@$(foreach p,$(PITFALLS),echo "  make pitfall-$p";)
	@echo
	@echo "  make nat-lab          two peers behind real Linux NATs meet: STUN, hole punching, or a TURN relay"
	@echo "                        MODE=cone|symmetric A=<flavor> B=<flavor> (now MODE=$(MODE) A=$(A) B=$(B));"
	@echo "                        root (or user namespaces); a capture and events.json (lectures/nat-traversal.md)"
	@echo "  make trace-<example>  the C and Swift programs' network system calls, side by side"
	@echo "  make bench            every echo server's round trips and throughput, one table"
	@echo "  make soak             make test 20 times over (SOAK_RUNS=N), failing tests by name"
	@echo "  make fuzz             every libFuzzer target in fuzz/, FUZZ_SECONDS each (60), a table of exec/s and coverage"
	@echo "                        (FUZZ_TARGET=http-c for one)"
	@echo "  make build-c-asan     every C program with ASan and UBSan into bin/c-asan/ (the sanitizer tests use it)"
	@echo "  make check-c          compile every C program: -Wall -Wextra clean, the lecture's without errors"
	@echo "  make listings         refresh the code listings in lectures/*.md"
	@echo "  make line-counts      refresh README.md's table of lines per program and flavor"
	@echo "  make diagrams         serve the interactive diagrams (diagrams/README.md); NAT_RUN=dir replays a nat-lab run"
	@echo "  make diagram-data     refresh the socket-lifecycle diagram's data from strace of the programs"
	@echo "  make figures          redraw the lectures' sequence diagrams (lectures/figures/) from strace of the programs"
	@echo "  make clean            remove bin/ and .build/ (and the fuzz and TSan builds)"

build: build-c build-swift build-scripts
	@echo "built: $(foreach f,$(FLAVORS),$(if $(wildcard bin/$f),bin/$f/))"

build-c: $(addprefix $(C_BIN)/,$(C_PROGRAMS))

# Every C program built with AddressSanitizer and UndefinedBehaviorSanitizer into
# bin/c-asan/, a folder like a flavor's: Tests/KitTests/sanitizers.swift runs the
# matrix's C servers and clients from it.
ASAN_CFLAGS := -g -fsanitize=address,undefined -fno-omit-frame-pointer
build-c-asan:
	@$(MAKE) --no-print-directory build-c C_BIN=bin/c-asan CFLAGS='$(ASAN_CFLAGS)'

build-swift:
	@$(FRESH_PLAN)
	$(SWIFTPM)
	@out=$$($(SWIFT) build --show-bin-path); \
	for flavor in $(SWIFT_FLAVORS); do \
	  mkdir -p bin/$$flavor; \
	  for program in $$($(INVENTORY) --flavor $$flavor --print program); do \
	    cp -p "$$out/$$flavor-$$program" bin/$$flavor/$$program; \
	  done; \
	done

# Python and Java: a flavor whose toolchain is missing is skipped, saying so (its
# tests fail with the same apt-get line); the others are built.
build-scripts:
	@for flavor in $(SCRIPT_FLAVORS); do \
	  scripts/build-flavor $$flavor bin/$$flavor; status=$$?; \
	  case $$status in 0|3) ;; *) exit $$status ;; esac; \
	done

# A C program: its source, the helper files its line in programs.txt names, and the
# libraries (-lNAME) it links.
define c_program
$(C_BIN)/$(1): $(2) $(addprefix $(dir $(2)),$(filter %.c,$(3)))
	@mkdir -p $(C_BIN)
	$$(CC) $$(CFLAGS) -pthread -o $$@ $$(filter %.c,$$^) $(filter -l%,$(3))
endef
$(foreach p,$(C_PROGRAMS),$(eval $(call c_program,$(p),$(shell $(INVENTORY) --program $(p) --flavor c --print source),$(shell $(INVENTORY) --program $(p) --print extras))))

$(EXAMPLES) $(VARIANT_SERVERS): $(EXAMPLE_BUILD)
	@scripts/run-example $@

demo: build
	@for example in $(EXAMPLES); do KIT_DEMO=1 scripts/run-example $$example || exit 1; echo; done

# With every flavor c, only cc runs: no Swift is built, as in a C-only example session.
nat-lab: $(if $(filter-out c,$(A) $(B) $(SERVER)),build,build-c)
	@scripts/nat-lab --mode "$(MODE)" --a "$(A)" --b "$(B)" --server "$(SERVER)"

$(addprefix trace-,$(EXAMPLES)): trace-%: build
	@scripts/trace-example $*

# The suites that compile or load the machine for long (fuzz targets, sanitizer and
# TSan builds, 10,000 connections per server, strace of every example, network
# namespaces, a copy of the kit built, the pitfalls compiled, Chromium) run after the
# timing-bounded ones, and the labs' graders, which compile
# and grade some seventy solutions, after them: on two cores, a test that waits for a
# deadline must not share the machine with a compiler.
HEAVY_SUITES := FuzzTests SanitizerTests HttpSanitizerTests BoundsTests FigureTests NatLabTests \
  InventoryTests PitfallTests DiagramTests
# The NAT programs' suites run by themselves before those: their peers keep the
# protocol's own deadlines (STUN gives up at 10 s, a peer at 20 s), which a crowd of
# tests starting at once could eat before a peer even reaches coturn.
PEER_SUITES := KitTests.StunTests P2PTests RendezvousTests SwiftSocketsNATTests
# The suites that keep both cores busy on purpose (500 echo clients at once) run alone
# too: beside the first phase, the programs there ran out of their 5-second deadlines.
LOAD_SUITES := TcpEchoLoadTests
# And within a phase, at most 8 test cases at once (Swift Testing runs them all at once
# otherwise): the first phase, every case starting together, kept the load near 40 on
# two cores, and a client's 5 s wait for a reply from the test ran out (recv: timed
# out). Capped, the load stays under 14 and the phase takes about 46 s instead of 40.
TEST_WIDTH ?= 8

test: export SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH = $(TEST_WIDTH)
test: check-c
	@scripts/fetch-p5  # the diagrams' tests draw with p5.js, which is never committed
	@$(FRESH_PLAN)
	$(SWIFT) build --manifest-cache none --build-tests
	@# The lectures' Python and Java, built where the tests look for them, before the
	@# tests start: built on first use instead, javac would hold up the tests around it.
	@out=$$($(SWIFT) build --show-bin-path); for flavor in $(SCRIPT_FLAVORS); do \
	  scripts/build-flavor $$flavor "$$out/$$flavor"; status=$$?; \
	  case $$status in 0|3) ;; *) exit $$status ;; esac; \
	done
	$(SWIFT) test --manifest-cache none --skip-build --skip KitTests.LabTests \
	  $(addprefix --skip ,$(HEAVY_SUITES) $(PEER_SUITES) $(LOAD_SUITES))
	$(SWIFT) test --manifest-cache none --skip-build $(addprefix --filter ,$(LOAD_SUITES))
	$(SWIFT) test --manifest-cache none --skip-build $(addprefix --filter ,$(PEER_SUITES))
	$(SWIFT) test --manifest-cache none --skip-build $(addprefix --filter ,$(HEAVY_SUITES))
	$(SWIFT) test --manifest-cache none --skip-build --filter KitTests.LabTests

# Each C program with its helper files, as the build compiles it: the kit's own C
# must be -Wall -Wextra clean; a faithful lecture program (marked lecture in
# programs.txt) keeps the lecture's lines, so its warnings are shown, not fatal.
check-c:
	@for p in $(C_PROGRAMS); do \
	  extras=$$($(INVENTORY) --program $$p --print extras); \
	  source=$$($(INVENTORY) --program $$p --flavor c --print source); \
	  helpers=$$(for f in $$extras; do case $$f in *.c) echo "$$(dirname $$source)/$$f";; esac; done); \
	  case " $$extras " in *" lecture "*) strict= ;; *) strict=-Werror ;; esac; \
	  $(CC) -Wall -Wextra $$strict -pthread -fsyntax-only $$source $$helpers || exit 1; \
	done
	@echo "C: every program compiles; the kit's own -Wall -Wextra clean, the lecture's without errors."

$(addprefix pitfall-,$(PITFALLS)): pitfall-%:
	@scripts/pitfall $*

lab:
	@scripts/lab "$(LAB)" "$(LANGUAGE)"

# The grader runs the student's programs against the kit's, so it builds them all.
grade:
	@test -n "$(LAB)" || { echo "which lab? make grade LAB=NN (make help lists them)" >&2; exit 2; }
	@echo "building the kit's programs to grade against (minutes the first time, then seconds)"
	@$(FRESH_PLAN)
	@$(SWIFTPM) >/dev/null || $(SWIFTPM)
	@"$$($(SWIFT) build --show-bin-path)/kit-grade" "$(LAB)" $(if $(SOLUTION),"$(SOLUTION)") \
	  $(if $(SAMPLE),--sample "$(SAMPLE)") --results "$(RESULTS)"

grade-all:
	@test -n "$(LAB)" -a -n "$(SUBMISSIONS)" || { \
	  echo "make grade-all LAB=NN SUBMISSIONS=dir (one subfolder per student)" >&2; exit 2; }
	@echo "building the kit's programs to grade against (minutes the first time, then seconds)"
	@$(FRESH_PLAN)
	@$(SWIFTPM) >/dev/null || $(SWIFTPM)
	@"$$($(SWIFT) build --show-bin-path)/kit-grade" "$(LAB)" --submissions "$(SUBMISSIONS)" --out "$(GRADES)"

# Not in make test: it is make test, many times, to find what fails only sometimes.
soak:
	scripts/soak

# Not in make test (which runs each target for 3 s): the parsers of untrusted bytes,
# fed by libFuzzer for minutes. fuzz/README.md says what each target does.
fuzz:
	scripts/fuzz

listings:
	scripts/listings

line-counts:
	scripts/line-counts

# The diagrams (diagrams/README.md): p5.js fetched once, served by the kit's own server.
diagrams: bin/c/http-server
	@scripts/fetch-p5
	@scripts/serve-diagrams

diagram-data: build-c
	scripts/diagram-data

# The lectures' sequence diagrams: strace of the C programs, drawn as SVG
.PHONY: figures
figures: build-c
	scripts/figures

# Not a test: speed is measured here and compared with goals, never asserted in a test.
bench:
	scripts/bench

clean:
	rm -rf bin .build .build-release .build-fuzz .build-tsan
