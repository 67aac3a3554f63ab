# qnpu - top-level Makefile.
#   make demo      the main job: the Fashion-MNIST CNN quantized 25 ways, on the RTL and the fast model
#   make demo-layers  every conformance layer case on golden, model and sim, and a 512^3 GEMM on sim
#   make train     retrain the float Fashion-MNIST model (installs python3-torch; not needed by demo)
#   make test      lint, unit + conformance tests, RTL block tests (4x4, 16x16), runtime layers and
#                  the network on sim, bit-exactness with ONNX Runtime, 20 s of fuzzing per parser,
#                  ASan/UBSan (also on the Verilated model: test-asan-sim)
#   make test-onnx qnpu vs ONNX Runtime: a quantize_static model on 10,000 images, 3,000 random nodes
#   make coverage  RTL line/toggle (Verilator) and C line (gcov) coverage of the test suites: build/coverage/
#   make fuzz      libFuzzer on every parser (npy, IDX, layer case, .qnpu, ONNX), FUZZ_S seconds each
#   make regress   RTL benches, random command streams, N random layers (SEED=, N=) and FAULTS faulted runs
#                  per array size, in REGRESS_SHARDS shards on both cores (SHARD=I/N: one shard); JUnit XML
#   make regress-slurm  the same jobs as a Slurm job array on a one-node Slurm started here (tools/slurm/)
#   make lint      verilator --lint-only -Wall and a Yosys read of every RTL file
#   make gen       regenerate the register map files from regs/qnpu.json
#   make syn       Yosys area report (GE) for every size, iCE40 fit and Fmax -> build/syn/report.md
#   make bench     runtime benchmark: GEMMs, ResNet-18, MobileNet-v1 -> build/bench/report.md
#   make sweep     area, ResNet-18 cycles and energy per array size, PE and scratchpad -> build/sweep/report.md
#   make bench-hw  micro-benchmarks and simulation speed on the fast model -> build/bench/hw.json
#   make deps      install build and test dependencies (Debian)
#   make           build the library, the CLI and the tests
SHELL := bash

include regs/qnpu_defaults.mk         # the build defaults of regs/qnpu.json
SHARED   ?= ../shared                 # reference data and conformance cases
CONFIG   ?= $(QNPU_DEFAULT_ROWS)x$(QNPU_DEFAULT_COLS)
# Every generated file lives in BUILD: build/ for the default array, build/RxC/ for make CONFIG=RxC.
BUILD    ?= $(if $(filter $(QNPU_DEFAULT_ROWS)x$(QNPU_DEFAULT_COLS),$(CONFIG)),build,build/$(CONFIG))
CLI_SIM  ?= 1                         # 1: the CLI carries the Verilated model (--backend sim)
SANITIZE ?=                           # e.g. address,undefined
VCOV     ?=                           # Verilator coverage flags (make coverage)
CC       ?= cc
OPT      ?= -O2 -g                    # optimisation and debug info

WARN := -Wall -Wextra -Wshadow -Wundef -Wpointer-arith -Wcast-qual \
        -Wwrite-strings -Werror
SAN  := $(if $(strip $(SANITIZE)),-fsanitize=$(strip $(SANITIZE)) -fno-sanitize-recover=all -fno-omit-frame-pointer)
INCLUDES    = -Isw/include -Isw/model -Isw/runtime -Isw/data -Isw/quant -Isw/net -Isw/golden -Isw/case -Isw/fastmodel \
              -Idriver -Isim -I$(B)/gen
CFLAGS_ALL = -std=c11 -D_POSIX_C_SOURCE=200809L $(strip $(OPT)) $(WARN) $(SAN) -MMD -MP \
              -DQNPU_CFG_ROWS=$(CFG_R) -DQNPU_CFG_COLS=$(CFG_C) $(INCLUDES) $(CFLAGS)
LDFLAGS_ALL := $(SAN) $(LDFLAGS)
comma := ,
LIBS := -lcjson -lprotobuf-c -lz -lm
ONNX_PROTO ?= /usr/include/onnx/onnx.proto   # ONNX's schema (Debian libonnx-dev)

B := $(strip $(BUILD))
CFG_R := $(word 1,$(subst x, ,$(CONFIG)))
CFG_C := $(word 2,$(subst x, ,$(CONFIG)))
# Debian's Python (the one make deps installs packages for), else any python3.
PYTHON := $(firstword $(wildcard /usr/bin/python3) python3)
LABEL ?= unit                         # name on the summary line of a test run

LIB_SRC  := $(wildcard sw/model/*.c sw/runtime/*.c sw/data/*.c sw/quant/*.c sw/net/*.c sw/golden/*.c sw/case/*.c \
              sw/fastmodel/*.c driver/*.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(B)/obj/%.o) $(B)/obj/gen/onnx.pb-c.o
CLI_OBJ  := $(patsubst %.c,$(B)/obj/%.o,$(wildcard sw/cli/*.c))
LIB      := $(B)/lib/libqnpu.a
CLI      := $(B)/bin/qnpu
TEST_SRC := $(wildcard tests/unit/test_*.c)
TESTS    := $(TEST_SRC:tests/unit/%.c=$(B)/tests/%)

.PHONY: all deps demo demo-layers train test test-unit test-asan test-rtl test-requant test-layers test-net test-onnx \
        test-onnx-quick test-gl test-pe test-asan-sim asan-sim-run coverage coverage-run fuzz fuzz-quick lint gen \
        check-gen regress regress-build regress-jobs regress-merge regress-slurm syn sweep bench bench-hw clean help
.SECONDARY:
all: $(CLI) $(TESTS)

help:
	@sed -n '2,/^[^#]/{/^#   /s/^# //p}' Makefile

deps:
	@tools/deps.sh

$(B)/obj/%.o: %.c | $(B)/gen/onnx.pb-c.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Itests/unit -c $< -o $@

# ONNX's protobuf schema -> C (protobuf-c), generated from the onnx.proto
# Debian ships (every object waits for it: the importer and the tests include
# its header); compiled without -Werror (it is not our code).
$(B)/gen/onnx.pb-c.c $(B)/gen/onnx.pb-c.h &: $(ONNX_PROTO)
	@mkdir -p $(B)/gen
	protoc-c --c_out=$(B)/gen -I$(dir $(ONNX_PROTO)) $(ONNX_PROTO)

$(B)/obj/gen/onnx.pb-c.o: $(B)/gen/onnx.pb-c.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 $(strip $(OPT)) $(SAN) -I$(B)/gen -c $< -o $@

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

# The CLI with the sim backend: the Verilated checking model of CONFIG.
SIM_LINK = $(B)/obj/sim/qnpu_backend_sim.o $(B)/sim_$(CONFIG)/qnpu_sim.o $(B)/sim_$(CONFIG)/libqnpu_vtop.a
ifeq ($(strip $(CLI_SIM)),1)
$(CLI): $(CLI_OBJ) $(SIM_LINK) $(LIB)
	@mkdir -p $(dir $@)
	$(CXX) $(LDFLAGS_ALL) $^ $(LIBS) -lz -lpthread -o $@
else
$(CLI): $(CLI_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) $^ $(LIBS) -o $@
endif

$(B)/tests/%: $(B)/obj/tests/unit/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) $^ -lcmocka $(LIBS) -o $@

# The unit and conformance binaries of one build variant.
test-unit: $(CLI) $(TESTS)
	@QNPU_BIN=$(CLI) QNPU_SHARED=$(strip $(SHARED)) tests/run_tests.sh "$(strip $(LABEL))" $(TESTS)

# The same suite built with AddressSanitizer and UndefinedBehaviorSanitizer.
test-asan:
	@$(MAKE) --no-print-directory BUILD=$(B)/asan SANITIZE=address,undefined OPT=-O1\ -g LABEL=asan-ubsan CLI_SIM=0 test-unit

test: deps
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory test-unit
	@$(MAKE) --no-print-directory test-rtl
	@$(MAKE) --no-print-directory test-layers
	@$(MAKE) --no-print-directory test-net
	@$(MAKE) --no-print-directory test-onnx-quick
	@$(MAKE) --no-print-directory fuzz-quick
	@$(MAKE) --no-print-directory test-gl
	@$(MAKE) --no-print-directory test-asan
	@$(MAKE) --no-print-directory test-asan-sim

# ---- RTL -------------------------------------------------------------------
CORE_SRC  := rtl/qnpu_reg_pkg.sv rtl/qnpu_pe.sv rtl/qnpu_array.sv rtl/qnpu_accum.sv \
             rtl/qnpu_requant.sv rtl/qnpu_fifo.sv rtl/qnpu_mul8x2.sv rtl/qnpu_core.sv  # packages first
TOP_SRC   := $(CORE_SRC) rtl/qnpu_spad.sv rtl/qnpu_agen.sv rtl/qnpu_ex.sv rtl/qnpu_ld.sv \
             rtl/qnpu_st.sv rtl/qnpu_ctrl.sv rtl/qnpu_regs.sv rtl/qnpu_mem_arb.sv rtl/qnpu_top.sv
RTL_SRC   := $(CORE_SRC)
RTL_TOP   := qnpu_core
ACC_DEPTH := 64                       # accumulator rows of the test benches
# Sizes RxC (the default requantization sharing, ReqShare capped at Cols) or
# RxCpP (P columns per requantization unit; p1: one unit per column).
TEST_SIZES    := 4x4 16x16 4x4p1 16x16p1 # core sizes in make test
SIM_SIZES     := 4x4 16x16 4x4p1      # accelerator sizes the sim tests run on
SIM_TESTS     := test_sim test_stream test_netsim # accelerator test binaries, one per model size
REGRESS_SIZES := 4x4 8x8 16x16 8x16 32x32 16x16p1
LINT_SIZES    := 2x2 4x4 8x8 16x16 8x16 32x32   # 2x2 and up; the top needs even sizes
RTL_MACS      ?= 1000000              # MACs per precision per size in make test
REGRESS_MACS  ?= 4000000              # ... in make regress
VSEED         ?= $(shell od -An -N2 -tu2 /dev/urandom | tr -d ' ')  # random-init seed

# Verilator -Wall on the core and on the whole accelerator at every size
# (waivers, each with its reason, only in rtl/lint.vlt), then Yosys 0.23.
lint: check-gen
	@for sz in $(LINT_SIZES); do \
	  r=$${sz%x*}; c=$${sz#*x}; \
	  verilator --lint-only -Wall -GRows=$$r -GCols=$$c --top-module qnpu_core rtl/lint.vlt $(CORE_SRC) \
	    || { echo "lint: verilator warnings in qnpu_core at $$sz"; exit 1; }; \
	  verilator --lint-only -Wall -DSYNTHESIS -GRows=$$r -GCols=$$c --top-module qnpu_core rtl/lint.vlt $(CORE_SRC) \
	    || { echo "lint: verilator warnings in qnpu_core (SYNTHESIS) at $$sz"; exit 1; }; \
	  verilator --lint-only -Wall -GRows=$$r -GCols=$$c --top-module qnpu_top rtl/lint.vlt $(TOP_SRC) \
	    || { echo "lint: verilator warnings in qnpu_top at $$sz"; exit 1; }; \
	done
	@mkdir -p $(B)
	@yosys -q -p 'read_verilog -sv -DSYNTHESIS $(TOP_SRC); hierarchy -check -top qnpu_top; proc; check -assert' \
	  > $(B)/yosys-lint.log 2>&1 || { cat $(B)/yosys-lint.log; echo "lint: yosys check failed"; exit 1; }
	@echo "lint: verilator -Wall clean (qnpu_core, also as synthesized, qnpu_top) at $(strip $(LINT_SIZES)); yosys 'hierarchy -check; proc; check -assert' clean"

# The register map and command format: regs/qnpu.json -> SV package, C header, docs.
gen:
	@$(PYTHON) tools/regtool.py

check-gen:
	@$(PYTHON) tools/regtool.py --check
	@echo "check-gen: rtl/qnpu_reg_pkg.sv, sw/include/qnpu_regs.h, regs/qnpu_defaults.mk, docs/registers.md match regs/qnpu.json"

# One Verilated test bench per size: $(B)/rtl/core_RxC/tb_core.
# A recipe's size $* = RxC or RxCpP -> shell variables r, c and p (P columns
# per requantization unit: the build default unless given, capped at c).
SIZE_RCP = sz=$*; p=$(QNPU_DEFAULT_REQ_SHARE); case $$sz in *p*) p=$${sz\#*p}; sz=$${sz%p*};; esac; \
           r=$${sz%x*}; c=$${sz\#*x}; if [ $$p -gt $$c ]; then p=$$c; fi;

# core_RxC or core_RxCpP (P columns per requantization unit).
$(B)/rtl/core_%/tb_core: $(RTL_SRC) tests/rtl/tb_core.cpp tests/rtl/tb_prm.h $(LIB)
	@mkdir -p $(dir $@)
	@echo "verilator: building the $* core test bench"
	@$(SIZE_RCP) \
	verilator --cc --exe --build -j 2 -O3 --assert --x-assign unique --x-initial unique $(VCOV) \
	  -GRows=$$r -GCols=$$c -GAccDepth=$(ACC_DEPTH) -GOutRows=$(ACC_DEPTH) -GReqShare=$$p --top-module $(RTL_TOP) \
	  -Mdir $(dir $@) -o tb_core \
	  -CFLAGS "-O2 -std=c++17 -DTB_ROWS=$$r -DTB_COLS=$$c -DTB_ACC_DEPTH=$(ACC_DEPTH) -DTB_REQ_SHARE=$$p \
	           -DTB_ROW_W=$$(python3 -c 'import math; print(math.ceil(math.log2($(ACC_DEPTH))))') \
	           -I$(CURDIR)/sw/golden -I$(CURDIR)/sw/include" \
	  -LDFLAGS "$(CURDIR)/$(LIB) -lm $(LDFLAGS_ALL)" \
	  $(RTL_SRC) $(CURDIR)/tests/rtl/tb_core.cpp > $(dir $@)build.log 2>&1 \
	  || { tail -30 $(dir $@)build.log; exit 1; }

# One PE, exhaustively, in each of its two forms (whole products for
# simulation, the partial-product array synthesis reads): FORM_PSUMW_INT4.
PE_CONFIGS := sim_18_1 sim_21_1 sim_20_0 syn_18_1 syn_21_1 syn_20_0
$(B)/rtl/pe_%/tb_pe: rtl/qnpu_pe.sv tests/rtl/tb_pe.cpp
	@mkdir -p $(dir $@)
	@f=$(word 1,$(subst _, ,$*)); w=$(word 2,$(subst _, ,$*)); i4=$(word 3,$(subst _, ,$*)); \
	verilator --cc --exe --build -j 2 -O3 --assert $$( [ $$f = syn ] && echo -DSYNTHESIS ) \
	  -GPsumW=$$w -GInt4=$$i4 --top-module qnpu_pe -Mdir $(dir $@) -o tb_pe \
	  -CFLAGS "-O2 -std=c++17 -DTB_PSUMW=$$w -DTB_INT4=$$i4 -DTB_FORM='\"$$f\"'" \
	  rtl/qnpu_pe.sv $(CURDIR)/tests/rtl/tb_pe.cpp > $(dir $@)build.log 2>&1 \
	  || { tail -30 $(dir $@)build.log; exit 1; }

test-pe: $(PE_CONFIGS:%=$(B)/rtl/pe_%/tb_pe)
	@for t in $^; do $$t --seed $(strip $(VSEED)) || exit 1; done

# One requantization unit, a result per cycle, against the golden model
# (every shift, edge multipliers and accumulators, float32, bypass, the
# saturation flag). requant_1: one column per unit (four stages);
# requant_4: a shared unit (five).
REQ_BATCHES ?= 25000                  # records (40 results each) per unit in make test
$(B)/rtl/requant_%/tb_requant: rtl/qnpu_reg_pkg.sv rtl/qnpu_requant.sv tests/rtl/tb_requant.cpp tests/rtl/tb_prm.h $(LIB)
	@mkdir -p $(dir $@)
	@echo "verilator: building the requantization unit test bench (Slots $*)"
	@verilator --cc --exe --build -j 2 -O3 --assert --x-assign unique --x-initial unique $(VCOV) \
	  -GSlots=$* --top-module qnpu_requant -Mdir $(dir $@) -o tb_requant \
	  -CFLAGS "-O2 -std=c++17 -DTB_SLOTS=$* -I$(CURDIR)/sw/golden -I$(CURDIR)/sw/include" \
	  -LDFLAGS "$(CURDIR)/$(LIB) -lm $(LDFLAGS_ALL)" \
	  rtl/qnpu_reg_pkg.sv rtl/qnpu_requant.sv $(CURDIR)/tests/rtl/tb_requant.cpp > $(dir $@)build.log 2>&1 \
	  || { tail -30 $(dir $@)build.log; exit 1; }

test-requant: $(B)/rtl/requant_1/tb_requant $(B)/rtl/requant_4/tb_requant
	@for t in $^; do $$t --seed $(strip $(VSEED)) --batches $(strip $(REQ_BATCHES)) || exit 1; done

# The 4x4 core with int8-only PEs, the first four PE pairs on shared
# multipliers (qnpu_mul8x2: the iCE40 build's DSP pairing, its portable form).
$(B)/rtl/core_mul/tb_core: $(RTL_SRC) tests/rtl/tb_core.cpp tests/rtl/tb_prm.h $(LIB)
	@mkdir -p $(dir $@)
	@echo "verilator: building the 4x4 core test bench with shared PE multipliers"
	@verilator --cc --exe --build -j 2 -O3 --assert --x-assign unique --x-initial unique $(VCOV) \
	  -GRows=4 -GCols=4 -GAccDepth=$(ACC_DEPTH) -GOutRows=$(ACC_DEPTH) -GReqShare=4 -GInt4=0 -GMulPairs=4 \
	  --top-module $(RTL_TOP) -Mdir $(dir $@) -o tb_core \
	  -CFLAGS "-O2 -std=c++17 -DTB_ROWS=4 -DTB_COLS=4 -DTB_ACC_DEPTH=$(ACC_DEPTH) -DTB_REQ_SHARE=4 -DTB_INT4=0 \
	           -DTB_ROW_W=$$(python3 -c 'import math; print(math.ceil(math.log2($(ACC_DEPTH))))') \
	           -I$(CURDIR)/sw/golden -I$(CURDIR)/sw/include" \
	  -LDFLAGS "$(CURDIR)/$(LIB) -lm $(LDFLAGS_ALL)" \
	  $(RTL_SRC) $(CURDIR)/tests/rtl/tb_core.cpp > $(dir $@)build.log 2>&1 \
	  || { tail -30 $(dir $@)build.log; exit 1; }

# Each size: zero-initialised flip-flops, then random ones (+verilator+seed).
SIM_BINS     = $(foreach s,$(1),$(SIM_TESTS:%=$(B)/tests/sim/%_$(s)))
STREAMS      ?= 50                    # random command streams per test_stream run in make test
REGRESS_STREAMS ?= 100                # ... in make regress (x 5 sizes x 4 runs)

test-rtl: $(TEST_SIZES:%=$(B)/rtl/core_%/tb_core) $(B)/rtl/core_mul/tb_core $(call SIM_BINS,$(SIM_SIZES)) \
          test-pe test-requant
	@tests/run_rtl.sh "rtl" "$(RTL_MACS)" "1" "$(strip $(VSEED))" $(TEST_SIZES:%=$(B)/rtl/core_%/tb_core) \
	  $(B)/rtl/core_mul/tb_core
	@QNPU_RANDOM_INIT= QNPU_STREAMS=$(strip $(STREAMS)) tests/run_tests.sh "sim" $(call SIM_BINS,$(SIM_SIZES))
	@QNPU_RANDOM_INIT=$(strip $(VSEED)) QNPU_STREAMS=$(strip $(STREAMS)) tests/run_tests.sh "sim-random-init" \
	  $(call SIM_BINS,$(SIM_SIZES))

# ---- layers through the runtime (tests/sim/layers.c): random cases and the
# conformance cases on the Verilated model and the fast model, against the
# golden model, both cores in parallel.
LAYER_BINS   = $(foreach s,$(1),$(B)/tests/sim/layers_$(s))
TEST_LAYERS ?= 300                    # random layer cases per size in make test
TEST_FAULTS ?= 100                    # faulted runs per size in make test
SEED        ?= 1                      # random layer seed of make regress
N           ?= 2000                   # random layer cases per size in make regress
CMSIS       := $(strip $(SHARED))/conformance/cmsis-nn

test-layers: $(call LAYER_BINS,$(SIM_SIZES))
	@rc=0; for s in $(SIM_SIZES); do 	  $(B)/tests/sim/layers_$$s --size $$s --seed 1 --n $(TEST_LAYERS) --label layers-sim-$$s || rc=1; 	  $(B)/tests/sim/layers_$$s --size $$s --conformance $(CMSIS) --label conformance-sim-$$s || rc=1; 	done; 	$(B)/tests/sim/layers_$(BENCH_SIZE) --size $(BENCH_SIZE) --backend model --conformance $(CMSIS) 	  --label conformance-model-$(BENCH_SIZE) || rc=1; 	for s in $(SIM_SIZES); do 	  $(B)/tests/sim/layers_$$s --size $$s --seed 1 --n $(TEST_FAULTS) --fault-runs --label faults-sim-$$s || rc=1; 	done; exit $$rc

# ---- gate-level check: the synthesized 4x4 core on the RTL test bench's vectors -------
# core size of the gate-level check (no comment on the line: it is part of file names)
GL_SIZE := 4x4
GL_MACS ?= 1000000                    # MACs per precision (the RTL test's vectors)

$(B)/gl/qnpu_core_$(GL_SIZE)_gates.v: $(CORE_SRC) syn/gates.ys
	@mkdir -p $(dir $@)
	@echo "yosys: gate-level netlist of the $(GL_SIZE) core"
	@r=$(word 1,$(subst x, ,$(GL_SIZE))); c=$(word 2,$(subst x, ,$(GL_SIZE))); \
	yosys -q -l $(B)/gl/synth.log -p "read_verilog -sv -DSYNTHESIS $(CORE_SRC); \
	  chparam -set Rows $$r -set Cols $$c -set AccDepth $(ACC_DEPTH) -set OutRows $(ACC_DEPTH) qnpu_core; \
	  hierarchy -check -top qnpu_core; script syn/gates.ys; rename -top qnpu_core; \
	  tee -q -o $(B)/gl/stat.txt stat; write_verilog -noattr -noexpr $@" >/dev/null 2>&1 \
	  || { tail -20 $(B)/gl/synth.log; exit 1; }

# The RTL test bench, unchanged, on the netlist with Yosys' cell models.
# UNOPTFLAT stays fatal: a false loop would make Verilator mis-evaluate gates.
# -fno-const-bit-op-tree: Verilator 5.006 (Debian bookworm) mis-evaluates
# some XOR/XNOR gate trees of Yosys netlists with that optimisation on
# (upstream verilator#4059, #4709, #5186); docs/area.md has the evidence.
$(B)/gl/tb_core_gl: $(B)/gl/qnpu_core_$(GL_SIZE)_gates.v tests/rtl/tb_core.cpp tests/rtl/tb_prm.h $(LIB)
	@echo "verilator: building the gate-level test bench"
	@r=$(word 1,$(subst x, ,$(GL_SIZE))); c=$(word 2,$(subst x, ,$(GL_SIZE))); \
	verilator --cc --exe --build -j 2 --x-assign unique --x-initial unique -fno-const-bit-op-tree \
	  -Wno-lint -Wno-style -Wno-MULTIDRIVEN --top-module qnpu_core -Mdir $(B)/gl/obj -o ../tb_core_gl \
	  -MAKEFLAGS "OPT_FAST=-O1 OPT_SLOW=-O0 OPT_GLOBAL=-O1" \
	  -CFLAGS "-std=c++17 -DTB_ROWS=$$r -DTB_COLS=$$c -DTB_ACC_DEPTH=$(ACC_DEPTH) -DTB_ROW_W=6 \
	           -I$(CURDIR)/sw/golden -I$(CURDIR)/sw/include" \
	  -LDFLAGS "$(CURDIR)/$(LIB) -lm" \
	  $(CURDIR)/$< /usr/share/yosys/simcells.v $(CURDIR)/tests/rtl/tb_core.cpp > $(B)/gl/build.log 2>&1 \
	  || { grep -m5 '%Error\|%Warning' $(B)/gl/build.log; tail -5 $(B)/gl/build.log; exit 1; }

test-gl: $(B)/gl/tb_core_gl
	@grep -E 'Number of cells' $(B)/gl/stat.txt | sed 's/^ */gate-level netlist: /'
	@tests/run_rtl.sh "gate-level" "$(GL_MACS)" "1" "$(strip $(VSEED))" $<

# ---- synthesis report (make syn) -------------------------------------------------
SYN_SIZES := 4x4 8x8 16x16 32x32      # array sizes in the area table
SYN_RUNS  := $(foreach s,$(SYN_SIZES),$(foreach i,0 1,$(B)/syn/top_$(s)_i4$(i).run.json))

$(B)/syn/top_%.run.json: $(TOP_SRC) syn/generic.ys tools/syn.sh
	@sz=$(word 1,$(subst _i4, ,$*)); i4=$(word 2,$(subst _i4, ,$*)); \
	tools/syn.sh $${sz%x*} $${sz#*x} $$i4 $(B)/syn $(TOP_SRC)

# One requantization unit without and with the float32 path.
REQ_RUNS := $(B)/syn/requant_f320.run.json $(B)/syn/requant_f321.run.json
$(B)/syn/requant_f32%.run.json: rtl/qnpu_reg_pkg.sv rtl/qnpu_requant.sv syn/generic.ys tools/syn_requant.sh
	@tools/syn_requant.sh $* $(B)/syn rtl/qnpu_reg_pkg.sv rtl/qnpu_requant.sv

$(B)/syn/ice40.json: $(TOP_SRC) syn/qnpu_ice40_wrap.sv syn/qnpu_ice40_core.sv tools/ice40.sh
	@tools/ice40.sh $(B)/syn $(TOP_SRC)

syn: deps $(SYN_RUNS) $(REQ_RUNS) $(B)/syn/ice40.json syn/baseline.json
	@$(PYTHON) tools/synreport.py --weights syn/ge_weights.json --out $(B)/syn --ice40 $(B)/syn/ice40.json \
	  --baseline syn/baseline.json \
	  --requant $(REQ_RUNS) -- $(SYN_RUNS)
	@cat $(B)/syn/report.md
	@echo; echo "syn: wrote $(B)/syn/report.md, report.json and ge_vs_size.png"

# ---- the accelerator behind the C API of sim/qnpu_sim.h -----------------------
VINC      := -isystem /usr/share/verilator/include -isystem /usr/share/verilator/include/vltstd

# One Verilated library per size (FST tracing compiled in, off until asked).
# Under SANITIZE its C++ is checked too, all but two UBSan checks that flag
# Verilator's own code: shift-base (it shifts negative ints, e.g.
# (~(a & b)) << 2U, and masks them afterwards) and alignment (its bundled
# FST writer, fstapi.c, stores misaligned words).
# sim_RxC, or sim_RxCpP: P columns per requantization unit.
$(B)/sim_%/libqnpu_vtop.a: $(TOP_SRC) rtl/lint.vlt
	@mkdir -p $(dir $@)
	@echo "verilator: building the $* accelerator model"
	@$(SIZE_RCP) \
	verilator --cc --build -j 2 -O3 --assert --trace-fst --x-assign unique --x-initial unique $(VCOV) \
	  -GRows=$$r -GCols=$$c -GReqShare=$$p --top-module qnpu_top --lib-create qnpu_vtop -Mdir $(dir $@) \
	  -CFLAGS "$(if $(SAN),-O1,-O2) -std=c++17 $(SAN) $(if $(SAN),-fno-sanitize=shift-base$(comma)alignment)" rtl/lint.vlt $(TOP_SRC) > $(dir $@)build.log 2>&1 \
	  || { tail -30 $(dir $@)build.log; exit 1; }

$(B)/sim_%/qnpu_sim.o: sim/qnpu_sim.cpp sim/qnpu_sim.h sw/include/qnpu_regs.h $(B)/sim_%/libqnpu_vtop.a
	$(CXX) -O2 -g -std=c++17 -Wall -Wextra -Werror -DVM_TRACE=1 -DVM_TRACE_FST=1 $(if $(VCOV),-DVM_COVERAGE=1) $(SAN) \
	  $(INCLUDES) -isystem $(B)/sim_$* $(VINC) -c $< -o $@

$(B)/tests/sim/test_sim_%: $(B)/obj/tests/sim/test_sim.o $(B)/sim_%/qnpu_sim.o $(B)/sim_%/libqnpu_vtop.a $(LIB)
	@mkdir -p $(dir $@)
	$(CXX) $(LDFLAGS_ALL) -o $@ $^ -lcmocka $(LIBS) -lz -lpthread

$(B)/tests/sim/layers_%: $(B)/obj/tests/sim/layers.o $(B)/obj/sim/qnpu_backend_sim.o $(B)/sim_%/qnpu_sim.o \
                        $(B)/sim_%/libqnpu_vtop.a $(LIB)
	@mkdir -p $(dir $@)
	$(CXX) $(LDFLAGS_ALL) -o $@ $^ $(LIBS) -lz -lpthread

$(B)/tests/sim/test_netsim_%: $(B)/obj/tests/sim/test_netsim.o $(B)/obj/sim/qnpu_backend_sim.o $(B)/sim_%/qnpu_sim.o \
                             $(B)/sim_%/libqnpu_vtop.a $(LIB)
	@mkdir -p $(dir $@)
	$(CXX) $(LDFLAGS_ALL) -o $@ $^ -lcmocka $(LIBS) -lz -lpthread

$(B)/tests/sim/test_stream_%: $(B)/obj/tests/sim/test_stream.o $(B)/sim_%/qnpu_sim.o $(B)/sim_%/libqnpu_vtop.a $(LIB)
	@mkdir -p $(dir $@)
	$(CXX) $(LDFLAGS_ALL) -o $@ $^ -lcmocka $(LIBS) -lz -lpthread

# ---- the fast model: benchmarks and demos (no X randomization, no assertions,
# no tracing; docs/simulation.md). The checking model above is for tests.
FAST_OPT ?= -O3 -march=native         # C++ optimisation of the fast model
BENCH_SIZE := $(QNPU_DEFAULT_ROWS)x$(QNPU_DEFAULT_COLS)
BENCH_RUNS ?= 5                       # simulation-speed runs (the median is reported)

FAST_PGO ?= 1                         # 1: profile-guided (trained on bench_hw --train); 0: plain

# libqnpu_vtop.a and qnpu_sim.o come out of one script run (a grouped target).
$(B)/simfast_%/libqnpu_vtop.a $(B)/simfast_%/qnpu_sim.o &: $(TOP_SRC) rtl/lint.vlt sim/qnpu_sim.cpp sim/qnpu_sim.h \
    sw/include/qnpu_regs.h tools/fastmodel.sh $(B)/obj/tests/bench/bench_hw.o $(LIB)
	@echo "verilator: building the $* fast model"
	@r=$(word 1,$(subst x, ,$*)); c=$(word 2,$(subst x, ,$*)); \
	QNPU_INCLUDES="$(INCLUDES) $(VINC)" tools/fastmodel.sh $(dir $@) $$r $$c "$(strip $(FAST_OPT))" "$(strip $(FAST_PGO))" \
	  $(B)/obj/tests/bench/bench_hw.o $(LIB) $(TOP_SRC)

$(B)/bench/bench_hw: $(B)/obj/tests/bench/bench_hw.o $(B)/simfast_$(BENCH_SIZE)/qnpu_sim.o \
                     $(B)/simfast_$(BENCH_SIZE)/libqnpu_vtop.a $(LIB)
	@mkdir -p $(dir $@)
	$(CXX) -o $@ $^ $(LIBS) -lz -lpthread

# The runtime benchmark: GEMMs, ResNet-18 and MobileNet-v1 layers on the fast
# Verilated model (and the ResNet-18 stack on the fast functional model).
$(B)/bench/bench_rt: $(B)/obj/tests/bench/bench_rt.o $(B)/obj/sim/qnpu_backend_sim.o \
                     $(B)/simfast_$(BENCH_SIZE)/qnpu_sim.o $(B)/simfast_$(BENCH_SIZE)/libqnpu_vtop.a $(LIB)
	@mkdir -p $(dir $@)
	$(CXX) -o $@ $^ $(LIBS) -lz -lpthread

# make bench: build/bench/report.md, report.json, layers.csv and plots.
bench: deps $(B)/bench/bench_rt
	@$(PYTHON) tools/bench_report.py --bench $(B)/bench/bench_rt --bare $(strip $(SHARED))/bench/bare-array/run.sh \
	  --perf $(strip $(SHARED))/reference/performance.md --out $(B)/bench

# make sweep: area, ResNet-18 cycles and energy per configuration
# (tools/sweep.py; build/sweep/report.md, report.json, report.csv, Pareto plots).
SWEEP_CONFIGS ?= 4x4,8x8,16x16,32x32,8x16,16x32,16x16:1024,16x16:16384,16x16p1,16x16p4,16x16p16
SWEEP_JOBS    ?= 2
sweep: deps $(B)/obj/tests/bench/bench_rt.o $(B)/obj/sim/qnpu_backend_sim.o $(B)/obj/tests/bench/bench_hw.o $(LIB)
	@QNPU_TOP_SRC="$(TOP_SRC)" QNPU_INCLUDES="$(INCLUDES) $(VINC)" QNPU_LIB=$(LIB) QNPU_LIBS="$(LIBS)" \
	  QNPU_BENCH_OBJ=$(B)/obj/tests/bench/bench_rt.o QNPU_BACKEND_OBJ=$(B)/obj/sim/qnpu_backend_sim.o \
	  QNPU_TRAIN_OBJ=$(B)/obj/tests/bench/bench_hw.o QNPU_FAST_OPT="$(strip $(FAST_OPT))" \
	  $(PYTHON) tools/sweep.py --out $(B)/sweep --jobs $(strip $(SWEEP_JOBS)) --configs $(strip $(SWEEP_CONFIGS)) \
	  --syndir $(B)/syn
	@cat $(B)/sweep/report.md

# The accelerator's micro-benchmarks and the simulator's speed beside the
# bare-array reference of $(SHARED)/bench/bare-array, in the same job.
bench-hw: deps $(B)/bench/bench_hw
	@$(PYTHON) tools/bench_hw.py --bench $(B)/bench/bench_hw --runs $(strip $(BENCH_RUNS)) \
	  --bare $(strip $(SHARED))/bench/bare-array/run.sh --json $(B)/bench/hw.json

# The Verilator-backed tests (the sim harness, the driver and the runtime on
# the Verilated RTL, faulted runs, the CLI on sim) built with ASan and UBSan
# - the Verilated model's C++ too - at 4x4.
ASAN_SIM_LAYERS ?= 60                 # random layers (and as many faulted runs) under ASan
test-asan-sim:
	@$(MAKE) --no-print-directory BUILD=$(B)/asan-sim SANITIZE=address,undefined OPT=-O1\ -g CLI_SIM=1 CONFIG=4x4 \
	  asan-sim-run

asan-sim-run: $(call SIM_BINS,4x4) $(call LAYER_BINS,4x4) $(CLI)
	@rc=0; QNPU_STREAMS=10 tests/run_tests.sh "asan-ubsan-sim" $(call SIM_BINS,4x4) || rc=1; \
	$(B)/tests/sim/layers_4x4 --size 4x4 --seed 1 --n $(ASAN_SIM_LAYERS) --label asan-ubsan-layers-4x4 || rc=1; \
	$(B)/tests/sim/layers_4x4 --size 4x4 --seed 1 --n $(ASAN_SIM_LAYERS) --fault-runs --label asan-ubsan-faults-4x4 \
	  || rc=1; \
	$(CLI) gemm 40 72 24 --backend sim --seed 3 > $(B)/asan-cli.log 2>&1 && grep -q "^match: 960/960" $(B)/asan-cli.log \
	  && echo "asan-ubsan-cli: qnpu gemm on sim bit-exact" || { cat $(B)/asan-cli.log; rc=1; }; exit $$rc

# ---- make regress: tools/regress.py's job list (RTL benches, sim tests,
# random layers, faulted runs; every size), in shards on the local cores or
# on Slurm, merged into one summary line, a JUnit file and repro lines.
FAULTS         ?= 400                 # faulted runs per size in make regress (x 5 sizes)
REGRESS_CHUNK  ?= 200                 # random cases per regression job
REGRESS_SHARDS ?= 8                   # shards of make regress, run here REGRESS_JOBS at a time
REGRESS_JOBS   ?= 2
SLURM_SHARDS   ?= 8                   # array tasks of make regress-slurm
SHARD          ?=                     # I/N: make regress runs only that shard
RD := $(B)/regress

regress-build: $(REGRESS_SIZES:%=$(B)/rtl/core_%/tb_core) $(call SIM_BINS,$(REGRESS_SIZES)) \
               $(call LAYER_BINS,$(REGRESS_SIZES))

regress-jobs:
	@mkdir -p $(RD)
	@$(PYTHON) tools/regress.py list --build $(B) --sizes "$(strip $(REGRESS_SIZES))" --seeds "1 2 3" \
	  --vseed $(strip $(VSEED)) --macs $(strip $(REGRESS_MACS)) --sim-tests "$(strip $(SIM_TESTS))" \
	  --streams $(strip $(REGRESS_STREAMS)) --seed $(strip $(SEED)) --layers $(strip $(N)) \
	  --faults $(strip $(FAULTS)) --chunk $(strip $(REGRESS_CHUNK)) > $(RD)/jobs.txt
	@echo "regress: $$(wc -l < $(RD)/jobs.txt) jobs in $(RD)/jobs.txt"

regress: deps regress-build regress-jobs
ifneq ($(strip $(SHARD)),)
	@$(PYTHON) tools/regress.py run --jobs $(RD)/jobs.txt --shard $(strip $(SHARD)) --out $(RD)/shards
else
	@rm -rf $(RD)/shards
	@seq 1 $(strip $(REGRESS_SHARDS)) | xargs -P $(strip $(REGRESS_JOBS)) -I{} \
	  $(PYTHON) tools/regress.py run --jobs $(RD)/jobs.txt --shard {}/$(strip $(REGRESS_SHARDS)) --out $(RD)/shards \
	  || true
	@$(PYTHON) tools/regress.py merge --jobs $(RD)/jobs.txt --out $(RD)/shards --junit $(RD)/junit.xml
endif

# Merges what SHARD=I/N runs left in $(RD)/shards.
regress-merge:
	@$(PYTHON) tools/regress.py merge --jobs $(RD)/jobs.txt --out $(RD)/shards --junit $(RD)/junit.xml

# The same job list through Slurm: a one-node cluster on this machine
# (tools/slurm/local.sh), the array job and the merge job of tools/slurm/submit.sh.
regress-slurm: deps regress-build regress-jobs
	@tools/slurm/local.sh --dir $(B)/slurm --shards $(strip $(SLURM_SHARDS)) --jobs $(RD)/jobs.txt --out $(RD)/slurm

# ---- make coverage: the test suites on a build with gcov (C, -O0) and
# Verilator line and toggle coverage (RTL), reported by tools/coverage.py.
# The Verilated models are 4x4 (the same RTL as every size; an instrumented
# 16x16 model takes over half an hour to compile), and the instrumented
# model runs some 30 times slower, so the suites run fewer cases on it:
# 100 random layers, 40 faulted runs, 1 image per network on sim. The
# accelerator has the default shared requantization (4 columns per unit at
# 4x4); the core block test also runs with one unit per column (4x4p1).
COV_B   := $(B)/cov
COV_OUT := $(B)/coverage
coverage: deps
	@rm -rf $(COV_B)/coverage-data $(COV_OUT)
	@mkdir -p $(COV_B)/coverage-data $(COV_OUT)
	@if [[ -d $(COV_B) ]]; then find $(COV_B) -name '*.gcda' -delete; fi
	@$(MAKE) --no-print-directory BUILD=$(COV_B) OPT=-O0\ -g CFLAGS=--coverage LDFLAGS=--coverage \
	  VCOV=--coverage-line\ --coverage-toggle LABEL=coverage-unit CONFIG=4x4 SIM_SIZES=4x4 TEST_SIZES=4x4\ 4x4p1 \
	  BENCH_SIZE=4x4 TEST_LAYERS=100 TEST_FAULTS=40 coverage-run
	@$(PYTHON) tools/coverage.py --data $(COV_B)/coverage-data --gcov-dir $(COV_B)/obj --out $(COV_OUT)

coverage-run: export QNPU_COVERAGE_DIR = $(CURDIR)/$(B)/coverage-data
coverage-run: export NET_SIM_IMAGES = 1
coverage-run: export ONNX_SIM_IMAGES = 2
coverage-run: export ONNX_SIM_EVERY = 60
coverage-run:
	@rc=0; for t in test-unit test-rtl test-layers test-net test-onnx-quick; do \
	  $(MAKE) --no-print-directory $$t || rc=1; done; \
	$(CLI) gemm 64 64 64 --backend sim --faults error-ppm=2000,seed=3 > /dev/null 2>&1; \
	[[ $$? -eq 3 ]] || { echo "coverage: a faulted gemm did not stop with exit 3"; rc=1; }; exit $$rc

# ---- the network: the committed float Fashion-MNIST model (models/), quantized by qnpu ----
MODEL       := models/fmnist_cnn.onnx
DEMO_IMAGES ?= 200                    # test images the demo runs on the cycle-accurate RTL
JOBS        ?= 2                      # parallel jobs of make demo

# The network through the CLI on sim and the fast model, checked against golden.
test-net: $(CLI)
	@tests/run_net.sh $(CLI) $(B)/test-net $(MODEL)

# qnpu against ONNX Runtime (installed into build/venv-onnx from PyPI): the
# model quantized by ONNX Runtime on 1,000 test images (20 on sim) and 600
# random single-node models in make test; 10,000 images (200 on sim) and
# 3,000 models here.
test-onnx-quick: $(CLI)
	@tests/run_onnx.sh $(CLI) $(B)/test-onnx QUICK

test-onnx: deps $(CLI)
	@tests/run_onnx.sh $(CLI) $(B)/test-onnx FULL

demo: deps
	@$(MAKE) --no-print-directory $(CLI)
	@$(PYTHON) tools/demo.py --bin $(CLI) --model $(MODEL) --out $(B)/demo --sim-images $(strip $(DEMO_IMAGES)) \
	  --jobs $(strip $(JOBS))

demo-layers: deps
	@$(MAKE) --no-print-directory $(CLI)
	@QNPU_BIN=$(CLI) tools/demo_layers.sh $(strip $(SHARED))

# Retrains the float model (Debian's python3-torch and python3-onnx, CPU; about
# 20 minutes on 2 cores) and rewrites models/fmnist_cnn.{onnx,ref.npy,train.json}.
TRAIN_EPOCHS ?= 20                    # make train: epochs
TRAIN_OUT    ?= models/fmnist_cnn     # make train: output path without extension
train:
	@tools/deps.sh --train
	@$(PYTHON) tools/train_fmnist.py --epochs $(strip $(TRAIN_EPOCHS)) --out $(strip $(TRAIN_OUT))

# ---- fuzzing: libFuzzer harnesses (clang) of every parser a user's file reaches ----
FUZZ_CC      ?= clang
FUZZ_S       ?= 3600                  # make fuzz: seconds per target
FUZZ_QUICK_S ?= 20                    # make test: seconds per target
FUZZ_TARGETS := npy idx case netfile onnx
FB := $(B)/fuzz
FUZZ_SAN   := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L -g -O1 $(FUZZ_SAN) -Wall -Wextra -Werror \
              -DQNPU_CFG_ROWS=$(CFG_R) -DQNPU_CFG_COLS=$(CFG_C) $(INCLUDES) -MMD -MP
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(FB)/obj/%.o) $(FB)/obj/gen/onnx.pb-c.o

$(FB)/obj/%.o: %.c | $(B)/gen/onnx.pb-c.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FB)/obj/gen/onnx.pb-c.o: $(B)/gen/onnx.pb-c.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=c11 -g -O1 $(FUZZ_SAN) -I$(B)/gen -c $< -o $@

$(FB)/libqnpu.a: $(FUZZ_LIB_OBJ)
	$(AR) rcs $@ $^

$(FB)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_util.h $(FB)/libqnpu.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< $(FB)/libqnpu.a $(LIBS) -o $@

fuzz: deps $(FUZZ_TARGETS:%=$(FB)/fuzz_%)
	@tools/fuzz.sh $(strip $(FUZZ_S)) $(FB) $(FUZZ_TARGETS)

fuzz-quick: $(FUZZ_TARGETS:%=$(FB)/fuzz_%)
	@tools/fuzz.sh $(strip $(FUZZ_QUICK_S)) $(FB) $(FUZZ_TARGETS)

clean:
	rm -rf $(B)

# Header dependencies of every object (the sim tests' and benchmarks' too:
# without them a changed driver header left stale objects behind).
-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(FUZZ_LIB_OBJ:.o=.d) $(wildcard $(B)/obj/tests/sim/*.d $(B)/obj/tests/bench/*.d $(B)/obj/sim/*.d) $(TESTS:$(B)/tests/%=$(B)/obj/tests/unit/%.d)
