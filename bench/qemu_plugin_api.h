/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The part of QEMU's TCG plugin API (version 2 and later) that
 * insns_plugin.c uses, declared as QEMU's documentation gives it: QEMU
 * installs no header for plugins.  A plugin's id is a uint64_t, a memory
 * access's info a uint32_t.
 */
#ifndef FIDEDUPE_QEMU_PLUGIN_API_H
#define FIDEDUPE_QEMU_PLUGIN_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PLUGIN_EXPORT __attribute__((visibility("default")))

/* What QEMU tells qemu_plugin_install() of itself. */
struct qemu_info {
	const char *target_name;
	struct {
		int min;
		int cur;
	} version;
	bool system_emulation;
	union {
		struct {
			int smp_vcpus;
			int max_vcpus;
		} system;
	};
};

struct qemu_plugin_tb;
struct qemu_plugin_insn;

/* enum qemu_plugin_cb_flags and enum qemu_plugin_mem_rw */
#define QEMU_PLUGIN_CB_NO_REGS 0
#define QEMU_PLUGIN_MEM_RW 3

/* The API version the plugin was built for: QEMU checks it. */
extern PLUGIN_EXPORT int qemu_plugin_version;

PLUGIN_EXPORT int qemu_plugin_install(uint64_t id, const struct qemu_info *info,
				      int argc, char **argv);

void qemu_plugin_register_vcpu_tb_trans_cb(uint64_t id,
	void (*cb)(uint64_t id, struct qemu_plugin_tb *tb));
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb,
						 size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
size_t qemu_plugin_insn_size(const struct qemu_plugin_insn *insn);
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb,
	void (*cb)(unsigned int vcpu, void *udata), int flags, void *udata);
void qemu_plugin_register_vcpu_mem_cb(struct qemu_plugin_insn *insn,
	void (*cb)(unsigned int vcpu, uint32_t info, uint64_t vaddr, void *udata),
	int flags, int rw, void *udata);
void qemu_plugin_outs(const char *string);

#endif /* FIDEDUPE_QEMU_PLUGIN_API_H */
