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
# `make clean` and `make help` need nothing, and `make -n` only shows what
# would run: none of them installs anything.
NO_SETUP_GOALS := clean help
# Against your own kernel (KDIR=...), the module builds with what that
# kernel was built with, and nothing is installed.
ifdef KDIR
NO_SETUP_GOALS += module install
endif
ifeq ($(filter-out $(NO_SETUP_GOALS),$(or $(MAKECMDGOALS),all)),)
else ifneq ($(findstring n,$(firstword -$(MAKEFLAGS))),)
-include $(CACHE)/env.mk
else
include $(CACHE)/env.mk
$(CACHE)/env.mk:
	@scripts/deps.sh
endif
export RUST_LIB_SRC LINUX_TREE

# The kernel the module is built against: KDIR=/path/to/a/configured/build
# for any kernel (Documentation/kbuild/modules.rst), else the test kernel,
# built on first use.
KBUILD_DIR_FILE := $(O)/kbuild.dir
ifdef KDIR
KBUILD := $(KDIR)
KERNEL_GOAL :=
else
KBUILD = $(shell cat $(KBUILD_DIR_FILE) 2>/dev/null)
KERNEL_GOAL := kernel
endif
TOOLS := $(O)/tools/fidedupe
# The KUnit suites in fidedupe.ko (Kbuild): for the test kernel only.
FIDEDUPE_KUNIT ?= $(if $(KDIR),n,y)
export FIDEDUPE_KUNIT

.PHONY: all deps kernel module install selftests tools lint docs check check-full shell run bench bench-kernel profile ablation insns insns-gate \
	mutants patches fstests clean help \
	fuzzer fuzz fuzz-proof torture-bins faults stress torture torture-proof

all: module selftests

deps:
	@scripts/deps.sh

kernel: deps
	@mkdir -p $(O)
	@scripts/kernel.sh $(FRAGMENTS) > $(KBUILD_DIR_FILE).tmp
	@mv $(KBUILD_DIR_FILE).tmp $(KBUILD_DIR_FILE)

module: $(KERNEL_GOAL)
	@$(MAKE) -s -C $(KBUILD) M=$(CURDIR) MO=$(O)/module LLVM=-19 modules
	@echo "module: $(O)/module/fidedupe.ko $(O)/module/fidedupe_livepatch.ko"

# modules_install into INSTALL_MOD_PATH (default: the running system's
# /lib/modules), and the udev rule that gives /dev/fidedupe to group fidedupe.
INSTALL_MOD_PATH ?=
install: module
	@$(MAKE) -s -C $(KBUILD) M=$(CURDIR) MO=$(O)/module LLVM=-19 \
		INSTALL_MOD_PATH=$(INSTALL_MOD_PATH) modules_install
	@install -D -m 0644 udev/60-fidedupe.rules \
		$(INSTALL_MOD_PATH)/etc/udev/rules.d/60-fidedupe.rules
	@echo "install: modules and udev rule under $(or $(INSTALL_MOD_PATH),/)"

# rustfmt with the kernel's settings, clippy as the kernel runs it
# (warnings are errors), checkpatch on the C and the headers.
RUSTFMT := rustfmt --edition 2021 --config-path $(LINUX_TREE)/.rustfmt.toml
CHECKPATCH := $(LINUX_TREE)/scripts/checkpatch.pl --no-tree --quiet \
	--ignore FILE_PATH_CHANGES
KERNEL_C := rust/glue.c rust/glue.h rust/abstractions/helpers.c \
	rust/abstractions/helpers.h include/uapi/fidedupe.h include/fidedupe.h \
	livepatch/fidedupe_livepatch.c
USER_C := $(wildcard selftests/*.c selftests/*.h tools/*.c torture/*.c)

lint: $(KERNEL_GOAL)
	@$(RUSTFMT) --check rust/fidedupe.rs
	@$(MAKE) -s -C $(KBUILD) M=$(CURDIR) MO=$(O)/clippy LLVM=-19 CLIPPY=1 \
		KCFLAGS=-Werror KRUSTFLAGS="-Dwarnings" modules
	@scripts/no-tail-call.py $(O)/clippy/fidedupe.ko fidedupe_vfs_dedupe_file_range
	@scripts/glue-abi.py rust/glue.h rust/abstractions/helpers.h rust/device.rs rust/stats.rs \
		rust/abstractions/*.rs rust/abstractions/fs/*.rs
	@scripts/no-bindings.sh rust
	@scripts/results-current.py Documentation/results.rst
	@$(CHECKPATCH) --strict -f $(KERNEL_C)
	@$(CHECKPATCH) -f $(USER_C)
	@cargo fmt --quiet --check --manifest-path fuzz/Cargo.toml
	@cargo clippy --quiet --release --locked --manifest-path fuzz/Cargo.toml \
		--target-dir $(O)/fuzz-target -- -D warnings
	@scripts/patches-apply.sh
	@echo "lint: rustfmt, clippy and checkpatch are clean; the livepatch entry makes no tail call; the Rust glue matches its headers; only rust/abstractions/ calls bindings::; results.rst marks its stale records; every mutant, ablation and broken torture build applies"

# The kselftests (selftests/Makefile, on the kernel tree's lib.mk): built
# into $(O)/selftests and installed as the kernel installs selftests, with
# run_kselftest.sh, into $(O)/kselftest.
KSELFTEST := $(MAKE) -s -C selftests LINUX_TREE=$(LINUX_TREE) OUTPUT=$(O)/selftests \
	USERCFLAGS=-Werror
selftests: deps
	@mkdir -p $(O)/selftests
	@$(KSELFTEST) all
	@rm -rf $(O)/kselftest
	@$(KSELFTEST) install INSTALL_PATH=$(O)/kselftest >/dev/null

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
	@for f in Documentation/fidedupe.4 Documentation/man-pages/*.2const; do \
		out=$$(groff -man -ww -z $$f 2>&1; mandoc -Tlint -W warning $$f 2>&1); \
		if [ -n "$$out" ]; then echo "$$out"; exit 1; fi; \
	done
	@echo "docs: Documentation/*.rst and the man pages build without warnings"

# When make started, for the total time check.sh prints at the end.
export FIDEDUPE_MAKE_START := $(shell date +%s)

# make check: the gate (README.md); make check-full: the same with the
# long cases and the short torture (Documentation/testing.rst).
# make check T=PROGRAM:CASE [V=VARIANT]: that case alone, after building
# only what it needs.  make shell: the test kernel with fidedupe loaded
# and the filesystems mounted, for poking by hand.
ifdef T
check: module selftests
	@scripts/check.sh $(KBUILD) $(O) one $(T) $(V)
else
check: lint docs module selftests tools fuzzer torture-bins
	@scripts/check.sh $(KBUILD) $(O) check
endif

check-full: lint docs module selftests tools fuzzer torture-bins
	@scripts/check.sh $(KBUILD) $(O) full
	@$(MAKE) -s insns-gate
	@$(MAKE) -s check-intree

# make check-intree: the kernel series of make patches, built at every
# patch, booted with the Rust and with the C vfs_dedupe_file_range()
# (scripts/check-intree.sh).
check-intree: $(KERNEL_GOAL) patches
	@scripts/check-intree.sh $(O) $(KBUILD)

shell: module selftests tools
	@VM_SHELL=1 qemu/vm.sh $(KBUILD) $(O)/vm-shell $(CURDIR)/qemu/guest-shell.sh

# MODE=device (default): through /dev/fidedupe; MODE=livepatch: duperemove
# through FIDEDUPERANGE with fidedupe_livepatch.ko loaded.
MODE ?= device
run: module tools
	@scripts/run.sh $(KBUILD) $(O) $(MODE)

# Benchmarks: the same kernel without the debug checks, in its own cache
# directory, both paths side by side in one boot (scripts/bench.sh).  Each
# of bench, profile, ablation and insns writes its report under
# $(O)/results/bench/.
KBENCH_DIR_FILE := $(O)/kbuild-bench.dir
KBENCH = $(shell cat $(KBENCH_DIR_FILE) 2>/dev/null)

bench-kernel: deps
	@mkdir -p $(O)
	@scripts/kernel.sh $(FRAGMENTS) qemu/kernel-bench.config > $(KBENCH_DIR_FILE).tmp
	@mv $(KBENCH_DIR_FILE).tmp $(KBENCH_DIR_FILE)

# The programs beside the kselftests use their helpers, with the parts only
# the module's suite has (selftests/Makefile defines the same).
SELFTESTS_CFLAGS := -Iselftests -DFIDEDUPE_OUT_OF_TREE

$(O)/bench/fidedupe_bench: bench/fidedupe_bench.c selftests/dedupe_util.h include/uapi/fidedupe.h
	@mkdir -p $(dir $@)
	@$(CC) -O2 -Wall -Werror $(SELFTESTS_CFLAGS) -o $@ $<

bench: bench-kernel $(O)/bench/fidedupe_bench
	@$(MAKE) -s -C $(KBENCH) M=$(CURDIR) MO=$(O)/module-bench LLVM=-19 modules
	@python3 -c 'import matplotlib' 2>/dev/null || \
		python3 -m pip install --quiet --disable-pip-version-check matplotlib
	@scripts/bench.sh $(KBENCH) $(O)

# Where a call's time goes: the function_graph tracer on the bench kernel,
# PROFILE_CALLS calls per path, stage and filesystem (scripts/profile.sh).
PROFILE_CALLS ?= 2000
profile: bench-kernel $(O)/bench/fidedupe_bench
	@$(MAKE) -s -C $(KBENCH) M=$(CURDIR) MO=$(O)/module-bench LLVM=-19 modules
	@scripts/profile.sh $(KBENCH) $(O) $(PROFILE_CALLS)

# What one call runs, counted by QEMU instead of timed: a TCG plugin
# (bench/insns_plugin.c) counts each marked call's instructions by
# function, its loads and stores and the pages it touches, INSNS_ROUNDS
# calls per filesystem, stage and path (scripts/insns.sh).
INSNS_ROUNDS ?= 60
$(O)/bench/insns_plugin.so: bench/insns_plugin.c bench/qemu_plugin_api.h
	@mkdir -p $(dir $@)
	@$(CC) -O2 -Wall -Werror -shared -fPIC -fvisibility=hidden -o $@ $<

insns: bench-kernel $(O)/bench/fidedupe_bench $(O)/bench/insns_plugin.so
	@$(MAKE) -s -C $(KBENCH) M=$(CURDIR) MO=$(O)/module-bench LLVM=-19 modules
	@scripts/insns.sh $(KBENCH) $(O) $(INSNS_ROUNDS)

# The gate on a call's cost (part of make check-full): a short make insns,
# whose ratios must stay within 1% of bench/insns-budget.
INSNS_GATE_ROUNDS ?= 30
insns-gate:
	@$(MAKE) -s insns INSNS_ROUNDS=$(INSNS_GATE_ROUNDS)
	@scripts/insns-budget.py bench/insns-budget $(O)/vm-insns/ratios.txt

# Where the module's extra time goes, by subtraction: the split stages with
# the module unchanged and with each patch of bench/ablations/, which
# removes one piece of work, ABLATION_ROUNDS rounds in one boot
# (scripts/ablation.sh); ABLATION_4K=1 adds the 4 KiB call as a stage.
ABLATION_ROUNDS ?= 3
ablation: bench-kernel $(O)/bench/fidedupe_bench
	@scripts/ablation.sh $(KBENCH) $(O) $(ABLATION_ROUNDS)

# Torture (qemu/guest-torture.sh): a fail-nth sweep and read errors
# (faults), callers against writers and stress engines for DURATION
# seconds (stress), unload under load; with kmemleak on.  Each run's TAP
# files and table under $(O)/results/torture/.
TORTURE := $(O)/torture/fidedupe_faults $(O)/torture/fidedupe_stress
DURATION ?= 240

$(O)/torture/%: torture/%.c selftests/dedupe_util.h include/uapi/fidedupe.h
	@mkdir -p $(dir $@)
	@$(CC) -O2 -g -Wall -Werror $(SELFTESTS_CFLAGS) -o $@ $< -lpthread

torture-bins: deps $(TORTURE)

faults: module tools torture-bins
	@scripts/torture.sh $(KBUILD) $(O) $(DURATION) faults

stress: module tools torture-bins
	@scripts/torture.sh $(KBUILD) $(O) $(DURATION) stress unload

torture: module tools torture-bins
	@scripts/torture.sh $(KBUILD) $(O) $(DURATION) faults stress unload

# Each torture check that found nothing, shown once to find a bug.
torture-proof: module tools torture-bins
	@scripts/torture-proof.sh $(KBUILD) $(O)

# The differential fuzzer (fuzz/, a cargo binary run in the guest).
FUZZER := $(O)/fuzz/fidedupe-fuzz
FUZZ_CASES ?= 1000000
FUZZ_SECONDS ?= 0
FUZZ_SEED ?= $(shell od -An -N8 -tu8 /dev/urandom | tr -d ' ')

$(FUZZER): $(wildcard fuzz/src/*.rs) fuzz/Cargo.toml fuzz/Cargo.lock
	@cargo build --quiet --release --locked --manifest-path fuzz/Cargo.toml \
		--target-dir $(O)/fuzz-target
	@mkdir -p $(dir $@)
	@cp $(O)/fuzz-target/release/fidedupe-fuzz $@

fuzzer: deps $(FUZZER)

# FUZZ_CASES cases per filesystem as root (a fifth more as nobody and a
# fifth through the livepatch), results kept under $(O)/results/fuzz/.
# On the benchmark kernel (no KASAN, lockdep, UBSAN: several times the
# cases per second); FUZZ_KERNEL=debug uses make check's kernel.
FUZZ_KERNEL ?= bench
ifeq ($(FUZZ_KERNEL),bench)
fuzz: bench-kernel fuzzer
	@$(MAKE) -s -C $(KBENCH) M=$(CURDIR) MO=$(O)/module-bench LLVM=-19 modules
	@scripts/fuzz.sh $(KBENCH) $(O) $(O)/module-bench/fidedupe.ko \
		$(FUZZ_CASES) $(FUZZ_SECONDS) $(FUZZ_SEED)
else
fuzz: module fuzzer
	@scripts/fuzz.sh $(KBUILD) $(O) $(O)/module/fidedupe.ko \
		$(FUZZ_CASES) $(FUZZ_SECONDS) $(FUZZ_SEED)
endif

# Mutation testing: every patch in selftests/mutants/ breaks one rule of
# Documentation/fidedupe.rst; each is built as a module and the suite runs
# against each in turn, in one VM boot, until a test fails
# (scripts/mutants.sh); the table of the run under $(O)/results/mutants/.
# Fails if a mutant survives.  MUTANTS="07 12" runs only those patches.
# Not part of `make check`.
MUTANTS ?=
mutants: module selftests tools fuzzer
	@scripts/mutants.sh $(KBUILD) $(O) $(MUTANTS)

# The fuzzer against the module of an old commit (PROOF_COMMIT, before
# the fixes of the review-gaps issue): it must find the divergences alone.
PROOF_COMMIT ?= b3d939b
PROOF_SECONDS ?= 300
fuzz-proof: module fuzzer
	@scripts/fuzz-proof.sh $(KBUILD) $(O) $(PROOF_SECONDS) $(FUZZ_SEED) $(PROOF_COMMIT)

# fstests (scripts/fstests.sh) with mainline's and fidedupe's rules
# (FSTESTS_PASSES=builtin: the series' kernel, after make check-intree).  Under
# TCG btrfs/187 (80000 files, a process each) and the stress group take
# hours: FSTESTS_TESTS="-g dedupe" runs them too.
FSTESTS_TESTS ?= -g dedupe -x stress -e btrfs/187
FSTESTS_PASSES ?= mainline livepatch
FSTESTS_FS ?= btrfs xfs
fstests: module
	@scripts/fstests.sh $(KBUILD) $(O) "$(FSTESTS_TESTS)" "$(FSTESTS_PASSES)" $(FSTESTS_FS)

# The series a maintainer applies (scripts/patches.sh): for now the
# man-pages patch, into $(O)/patches/man-pages.
patches: deps
	@scripts/patches.sh $(O)/patches

clean:
	rm -rf $(O)

help:
	@echo 'fidedupe: FIDEDUPERANGE'"'"'s VFS layer in Rust (README.md)'
	@echo
	@echo '  make run        boot the test kernel, dedupe duplicates (MODE=livepatch: duperemove)'
	@echo '  make check      lint, docs, builds, then KUnit, kselftests, fuzz smoke'
	@echo '                 and a short fault sweep: the gate, 30 minutes at most'
	@echo '  make check T=fidedupe_test:reserved_fields V=btrfs_module   one case'
	@echo '  make check STAGES=kselftest,torture   only those stages (qemu/guest-check.sh)'
	@echo '  make check-full make check with the long cases and the short torture,'
	@echo '                  then make check-intree'
	@echo '  make check-intree the kernel series built at each patch, booted with'
	@echo '                  the Rust and the C vfs_dedupe_file_range()'
	@echo '  make shell      the test kernel, fidedupe loaded, filesystems mounted'
	@echo
	@echo '  make module     fidedupe.ko and fidedupe_livepatch.ko (KDIR=... for another kernel)'
	@echo '  make install    modules_install into INSTALL_MOD_PATH, and the udev rule'
	@echo '  make selftests  the kselftest programs;  make tools: the fidedupe client'
	@echo '  make lint       rustfmt, clippy, checkpatch;  make docs: rst and man page'
	@echo '  make kernel     the test kernel (cached);  make deps: what the machine needs'
	@echo
	@echo '  make fuzz       differential fuzzing, FUZZ_CASES per filesystem (10^6)'
	@echo '  make fuzz-proof the fuzzer against the module of PROOF_COMMIT (b3d939b)'
	@echo '  make mutants    deliberate bugs the suite must catch'
	@echo '  make faults     fail-nth sweep and read errors, with kmemleak'
	@echo '  make stress     callers against writers, stress engines, unload (DURATION)'
	@echo '  make torture    faults and stress'
	@echo '  make torture-proof  deliberate bugs each torture check must catch'
	@echo '  make bench      both paths side by side on a non-debug kernel'
	@echo '  make profile    where the time of a call goes, both paths (function_graph)'
	@echo '  make ablation   the split stages with pieces of the module removed'
	@echo '  make insns      the instructions of a call, both paths, counted by QEMU'
	@echo '  make insns-gate make insns, its ratios against bench/insns-budget'
	@echo '  make patches    the patch series, with git format-patch (build/patches)'
	@echo '  make fstests    fstests'"'"' dedupe group, mainline and fidedupe (livepatch)'
	@echo
	@echo '  make clean      remove build/, with the runs'"'"' results (the kernel cache stays in $(CACHE))'
