// SPDX-License-Identifier: GPL-2.0
/*
 * insns_plugin - a QEMU TCG plugin for `make insns`: what one marked call
 * runs, counted by the emulator, not timed.
 *
 * fidedupe_bench's insns mode reads the user page at INSNS_MARK just
 * before a call (offset 0: open a window on this vCPU) and just after it
 * (offset 64: close it).  For each window the plugin prints
 *
 *   window N insns I kernel_insns K accesses A code_pages C data_pages D
 *          switches S interrupts T
 *   tb N ADDR COUNT      (for each kernel translation block run: its
 *                         guest address and the instructions it ran)
 *
 * I and K count whole translation blocks (a block left early by an
 * exception counts in full); A is every load and store; C and D the
 * distinct guest pages of code run and of data accessed.  The output goes
 * to QEMU's log (-d plugin -D FILE).
 *
 * Only the calling task's work is counted: when the call sleeps (xfs
 * waits for its writeback), whatever the vCPU runs until the task is
 * switched back in (the idle loop, the loop device's worker) is not.  The
 * plugin sees the switches in __switch_to_asm, whose two instructions at
 * switch_out=ADDR (it stores the previous task's stack pointer into its
 * task_struct) and switch_in=ADDR (it loads the next task's) scripts/
 * insns.sh finds in vmlinux: the task that opened the window is the one
 * whose thread.sp the first switch out stores, and it runs again when a
 * switch in loads from there.  S counts its switches out.  T counts the
 * interrupts that arrived while it ran (irq=ADDR, once for each entry:
 * the asm_sysvec_* and asm_common_interrupt of the kernel): their work,
 * and the softirqs they run on the way out, are counted, and
 * bench/insns.py leaves such a window out.
 *
 * QEMU installs no header for plugins: qemu_plugin_api.h declares the
 * few calls this uses.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qemu_plugin_api.h"

PLUGIN_EXPORT int qemu_plugin_version = 2;

/* The marker page: the same address as INSNS_MARK in fidedupe_bench.c. */
#define INSNS_MARK 0x5a5a00000000ULL
#define MARK_OPEN 0
#define MARK_CLOSE 64

#define PAGE_SHIFT 12
#define KERNEL_HALF(addr) ((addr) >> 63)

/* A translation block as the plugin keeps it: where, how long, pages. */
struct block {
	uint64_t vaddr;
	uint64_t last_page;	/* the page of its last instruction's last byte */
	unsigned int insns;
};

/* A set of page numbers, open addressing; full at half its size. */
#define SET_BITS 16
#define SET_SIZE (1U << SET_BITS)
struct page_set {
	uint64_t key[SET_SIZE];	/* page + 1; 0 is empty */
	unsigned int n;
};

/* The kernel blocks a window ran, sorted by address when it closes. */
#define RUN_MAX (1U << 20)
struct run {
	uint64_t vaddr;
	unsigned int insns;
};

static struct page_set code_pages, data_pages;
static struct run runs[RUN_MAX];
static unsigned int nruns;
static unsigned long window, insns, kernel_insns, accesses, switches, interrupts;
static int open_vcpu = -1;

/* The instructions of the plugin's arguments, 0 if not given. */
#define IRQ_MAX 64
static uint64_t switch_out_insn, switch_in_insn, irq_insn[IRQ_MAX];
static unsigned int nirqs;
/* The mem callbacks' udata of the two switch instructions. */
static char switch_out_tag, switch_in_tag;
/* Whether the window's task is the one running, and where its sp is kept. */
static bool ours;
static uint64_t our_thread_sp;

static void set_add(struct page_set *s, uint64_t page)
{
	uint64_t key = page + 1;
	unsigned int i = (unsigned int)((key * 0x9e3779b97f4a7c15ULL) >> (64 - SET_BITS));

	while (s->key[i]) {
		if (s->key[i] == key)
			return;
		i = (i + 1) & (SET_SIZE - 1);
	}
	if (s->n < SET_SIZE / 2) {
		s->key[i] = key;
		s->n++;
	}
}

static int run_cmp(const void *a, const void *b)
{
	const struct run *x = a, *y = b;

	return x->vaddr < y->vaddr ? -1 : x->vaddr > y->vaddr;
}

static void window_open(unsigned int vcpu)
{
	memset(&code_pages, 0, sizeof(code_pages));
	memset(&data_pages, 0, sizeof(data_pages));
	nruns = 0;
	insns = kernel_insns = accesses = switches = interrupts = 0;
	ours = true;
	our_thread_sp = 0;
	open_vcpu = vcpu;
}

/* Prints the window's figures and its kernel blocks, summed by address. */
static void window_close(void)
{
	char line[200];
	unsigned int i, j;

	open_vcpu = -1;
	window++;
	snprintf(line, sizeof(line),
		 "window %lu insns %lu kernel_insns %lu accesses %lu code_pages %u data_pages %u switches %lu interrupts %lu\n",
		 window, insns, kernel_insns, accesses, code_pages.n, data_pages.n,
		 switches, interrupts);
	qemu_plugin_outs(line);
	qsort(runs, nruns, sizeof(runs[0]), run_cmp);
	for (i = 0; i < nruns; i = j) {
		unsigned long sum = 0;

		for (j = i; j < nruns && runs[j].vaddr == runs[i].vaddr; j++)
			sum += runs[j].insns;
		snprintf(line, sizeof(line), "tb %lu %llx %lu\n", window,
			 (unsigned long long)runs[i].vaddr, sum);
		qemu_plugin_outs(line);
	}
}

static void on_block(unsigned int vcpu, void *udata)
{
	const struct block *b = udata;

	unsigned int i;

	if ((int)vcpu != open_vcpu || !ours)
		return;
	for (i = 0; i < nirqs; i++)
		if (b->vaddr == irq_insn[i])
			interrupts++;
	insns += b->insns;
	set_add(&code_pages, b->vaddr >> PAGE_SHIFT);
	set_add(&code_pages, b->last_page);
	if (KERNEL_HALF(b->vaddr)) {
		kernel_insns += b->insns;
		if (nruns < RUN_MAX)
			runs[nruns++] = (struct run){ b->vaddr, b->insns };
	}
}

static void on_access(unsigned int vcpu, uint32_t info, uint64_t vaddr,
		      void *udata)
{
	if ((vaddr & ~(uint64_t)(MARK_CLOSE | (MARK_CLOSE - 1))) == INSNS_MARK) {
		if (vaddr == INSNS_MARK + MARK_OPEN && open_vcpu < 0)
			window_open(vcpu);
		else if (vaddr == INSNS_MARK + MARK_CLOSE && (int)vcpu == open_vcpu)
			window_close();
		return;
	}
	if ((int)vcpu != open_vcpu)
		return;
	if (udata == &switch_out_tag) {
		if (ours) {
			our_thread_sp = vaddr;
			ours = false;
			switches++;
		}
		return;
	}
	if (udata == &switch_in_tag) {
		ours = vaddr == our_thread_sp;
		return;
	}
	if (!ours)
		return;
	accesses++;
	set_add(&data_pages, vaddr >> PAGE_SHIFT);
}

static void on_translate(uint64_t id, struct qemu_plugin_tb *tb)
{
	size_t n = qemu_plugin_tb_n_insns(tb), i;
	struct qemu_plugin_insn *last;
	struct block *b;

	if (!n)
		return;
	/* Kept as long as QEMU may run the block: never freed. */
	b = malloc(sizeof(*b));
	if (!b)
		return;
	last = qemu_plugin_tb_get_insn(tb, n - 1);
	b->vaddr = qemu_plugin_tb_vaddr(tb);
	b->last_page = (qemu_plugin_insn_vaddr(last) +
			qemu_plugin_insn_size(last) - 1) >> PAGE_SHIFT;
	b->insns = n;
	qemu_plugin_register_vcpu_tb_exec_cb(tb, on_block, QEMU_PLUGIN_CB_NO_REGS, b);
	for (i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		uint64_t vaddr = qemu_plugin_insn_vaddr(insn);
		void *tag = NULL;

		if (vaddr == switch_out_insn)
			tag = &switch_out_tag;
		else if (vaddr == switch_in_insn)
			tag = &switch_in_tag;
		qemu_plugin_register_vcpu_mem_cb(insn, on_access, QEMU_PLUGIN_CB_NO_REGS,
						 QEMU_PLUGIN_MEM_RW, tag);
	}
}

/* Parses "NAME=ADDR" (hexadecimal) into *@addr if @arg is NAME's. */
static bool parse_addr(const char *arg, const char *name, uint64_t *addr)
{
	size_t len = strlen(name);
	char *end;

	if (strncmp(arg, name, len) || arg[len] != '=')
		return false;
	*addr = strtoull(arg + len + 1, &end, 16);
	return *end == '\0' && *addr;
}

PLUGIN_EXPORT int qemu_plugin_install(uint64_t id, const struct qemu_info *info,
				      int argc, char **argv)
{
	int i;

	if (!info->system_emulation || info->version.min > qemu_plugin_version)
		return -1;
	for (i = 0; i < argc; i++) {
		if (parse_addr(argv[i], "switch_out", &switch_out_insn) ||
		    parse_addr(argv[i], "switch_in", &switch_in_insn))
			continue;
		if (nirqs == IRQ_MAX || !parse_addr(argv[i], "irq", &irq_insn[nirqs]))
			return -1;
		nirqs++;
	}
	if (!switch_out_insn || !switch_in_insn || !nirqs)
		return -1;
	qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
	return 0;
}
