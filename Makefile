# SPDX-License-Identifier: GPL-2.0
#
# fidedupe: the two commands are `make run` and `make check`; both install
# what they need (scripts/deps.sh) and build the test kernel once into
# $(CACHE), then reuse it.

SHELL := /bin/bash
CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/fidedupe
export FIDEDUPE_CACHE := $(CACHE)
export PATH := $(HOME)/.cargo/bin:$(PATH)
O := $(CURDIR)/build
FRAGMENTS := qemu/kernel.config

# Variables from scripts/deps.sh (LINUX_TREE, RUST_LIB_SRC, VNG, BINDGEN).
# Made by scripts/deps.sh on first use; make then restarts and reads it.
include $(CACHE)/env.mk
export RUST_LIB_SRC

$(CACHE)/env.mk:
	@scripts/deps.sh

KBUILD_DIR_FILE := $(O)/kbuild.dir
KBUILD = $(shell cat $(KBUILD_DIR_FILE) 2>/dev/null)
SELFTESTS := $(patsubst selftests/%.c,$(O)/selftests/%,$(wildcard selftests/*_test.c))
TOOLS := $(O)/tools/fidedupe
SELFTEST_CFLAGS := -O2 -g -Wall -Werror \
	-I$(LINUX_TREE)/tools/testing/selftests -Iselftests

.PHONY: all deps kernel module selftests tools lint docs check run bench bench-kernel clean

all: module selftests

deps:
	@scripts/deps.sh

kernel: deps
	@mkdir -p $(O)
	@scripts/kernel.sh $(FRAGMENTS) > $(KBUILD_DIR_FILE).tmp
	@mv $(KBUILD_DIR_FILE).tmp $(KBUILD_DIR_FILE)

module: kernel
	@$(MAKE) -s -C $(KBUILD) M=$(CURDIR) MO=$(O)/module LLVM=-19 modules
	@echo "module: $(O)/module/fidedupe.ko $(O)/module/fidedupe_livepatch.ko"

# rustfmt with the kernel's settings, clippy as the kernel runs it
# (warnings are errors), checkpatch on the C and the headers.
RUSTFMT := rustfmt --edition 2021 --config-path $(LINUX_TREE)/.rustfmt.toml
CHECKPATCH := $(LINUX_TREE)/scripts/checkpatch.pl --no-tree --quiet \
	--ignore FILE_PATH_CHANGES
KERNEL_C := rust/glue.c rust/glue.h include/uapi/fidedupe.h include/fidedupe.h \
	livepatch/fidedupe_livepatch.c
USER_C := $(wildcard selftests/*.c selftests/*.h tools/*.c)

lint: kernel
	@$(RUSTFMT) --check rust/fidedupe.rs
	@$(MAKE) -s -C $(KBUILD) M=$(CURDIR) MO=$(O)/clippy LLVM=-19 CLIPPY=1 \
		KCFLAGS=-Werror KRUSTFLAGS="-Dwarnings" modules
	@$(CHECKPATCH) --strict -f $(KERNEL_C)
	@$(CHECKPATCH) -f $(USER_C)
	@echo "lint: rustfmt, clippy and checkpatch are clean"

selftests: deps $(SELFTESTS)

$(O)/selftests/%: selftests/%.c $(wildcard selftests/*.h) include/uapi/fidedupe.h
	@mkdir -p $(dir $@)
	@$(CC) $(SELFTEST_CFLAGS) -o $@ $< -lpthread

$(O)/tools/%: tools/%.c include/uapi/fidedupe.h
	@mkdir -p $(dir $@)
	@$(CC) -O2 -Wall -Wextra -o $@ $<

tools: $(TOOLS) $(O)/tools/man-example

# The man page's EXAMPLES program, compiled as printed.
$(O)/tools/man-example: Documentation/fidedupe.4 include/uapi/fidedupe.h scripts/man-example.sh
	@mkdir -p $(dir $@)
	@scripts/man-example.sh $< > $@.c
	@$(CC) -O2 -Wall -Werror -Iinclude/uapi -o $@ $@.c

# The documentation builds without a warning: reStructuredText through
# docutils (no Sphinx here), the man page through groff and mandoc.
docs: deps $(O)/tools/man-example
	@mkdir -p $(O)/docs
	@for f in Documentation/*.rst; do \
		rst2html --halt=warning $$f $(O)/docs/$$(basename $$f .rst).html || exit 1; \
	done
	@out=$$(groff -man -ww -z Documentation/fidedupe.4 2>&1; \
		mandoc -Tlint -W warning Documentation/fidedupe.4 2>&1); \
		if [ -n "$$out" ]; then echo "$$out"; exit 1; fi
	@echo "docs: Documentation/*.rst and fidedupe.4 build without warnings"

check: lint docs module selftests tools
	@scripts/check.sh $(KBUILD) $(O)

# MODE=device (default): through /dev/fidedupe; MODE=livepatch: duperemove
# through FIDEDUPERANGE with fidedupe_livepatch.ko loaded.
MODE ?= device
run: module tools
	@scripts/run.sh $(KBUILD) $(O) $(MODE)

# Benchmarks: the same kernel without the debug checks, in its own cache
# directory, both paths side by side in one boot (scripts/bench.sh).
KBENCH_DIR_FILE := $(O)/kbuild-bench.dir
KBENCH = $(shell cat $(KBENCH_DIR_FILE) 2>/dev/null)

bench-kernel: deps
	@mkdir -p $(O)
	@scripts/kernel.sh $(FRAGMENTS) qemu/kernel-bench.config > $(KBENCH_DIR_FILE).tmp
	@mv $(KBENCH_DIR_FILE).tmp $(KBENCH_DIR_FILE)

$(O)/bench/fidedupe_bench: bench/fidedupe_bench.c selftests/dedupe_util.h include/uapi/fidedupe.h
	@mkdir -p $(dir $@)
	@$(CC) -O2 -Wall -Werror -o $@ $<

bench: bench-kernel $(O)/bench/fidedupe_bench
	@$(MAKE) -s -C $(KBENCH) M=$(CURDIR) MO=$(O)/module-bench LLVM=-19 modules
	@python3 -c 'import matplotlib' 2>/dev/null || \
		python3 -m pip install --quiet --disable-pip-version-check matplotlib
	@scripts/bench.sh $(KBENCH) $(O)

clean:
	rm -rf $(O)
