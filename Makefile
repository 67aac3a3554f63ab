# qnpu - top-level Makefile.
#   make demo      the main job (installs what is missing first)
#   make test      every test: unit, conformance, and again under ASan/UBSan
#   make deps      install build and test dependencies (Debian)
#   make           build the library, the CLI and the tests
SHELL := bash

SHARED   ?= ../shared                 # reference data and conformance cases
BUILD    ?= build                     # every generated file lives here
SANITIZE ?=                           # e.g. address,undefined
CC       ?= cc
OPT      ?= -O2 -g                    # optimisation and debug info

WARN := -Wall -Wextra -Wshadow -Wundef -Wpointer-arith -Wcast-qual \
        -Wwrite-strings -Werror
SAN  := $(if $(strip $(SANITIZE)),-fsanitize=$(strip $(SANITIZE)) -fno-sanitize-recover=all -fno-omit-frame-pointer)
CFLAGS_ALL := -std=c11 -D_POSIX_C_SOURCE=200809L $(strip $(OPT)) $(WARN) $(SAN) -MMD -MP \
              -Isw/include -Isw/golden -Isw/case $(CFLAGS)
LDFLAGS_ALL := $(SAN) $(LDFLAGS)
LIBS := -lcjson -lm

B := $(strip $(BUILD))
LABEL ?= unit                         # name on the summary line of a test run

LIB_SRC  := $(wildcard sw/golden/*.c sw/case/*.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(B)/obj/%.o)
LIB      := $(B)/lib/libqnpu.a
CLI      := $(B)/bin/qnpu
TEST_SRC := $(wildcard tests/unit/test_*.c)
TESTS    := $(TEST_SRC:tests/unit/%.c=$(B)/tests/%)

.PHONY: all deps demo test test-unit test-asan clean help
all: $(CLI) $(TESTS)

help:
	@sed -n '2,6p' Makefile | sed 's/^# //'

deps:
	@tools/deps.sh

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

$(CLI): $(B)/obj/sw/cli/qnpu.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) $^ $(LIBS) -o $@

$(B)/tests/%: $(B)/obj/tests/unit/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) $^ -lcmocka $(LIBS) -o $@

# The unit and conformance binaries of one build variant.
test-unit: $(CLI) $(TESTS)
	@QNPU_BIN=$(CLI) QNPU_SHARED=$(strip $(SHARED)) tests/run_tests.sh "$(strip $(LABEL))" $(TESTS)

# The same suite built with AddressSanitizer and UndefinedBehaviorSanitizer.
test-asan:
	@$(MAKE) --no-print-directory BUILD=$(B)/asan SANITIZE=address,undefined OPT=-O1\ -g LABEL=asan-ubsan test-unit

test: deps
	@$(MAKE) --no-print-directory test-unit
	@$(MAKE) --no-print-directory test-asan

demo: deps
	@$(MAKE) --no-print-directory $(CLI)
	@QNPU_BIN=$(CLI) tools/demo.sh $(strip $(SHARED))

clean:
	rm -rf $(B)

-include $(LIB_OBJ:.o=.d) $(B)/obj/sw/cli/qnpu.d $(TESTS:$(B)/tests/%=$(B)/obj/tests/unit/%.d)
