/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What keyhole.ko learns from the KVM VM that QEMU owns - guest RAM ranges
 * and the threads that run its vCPUs - found through QEMU's file table, so
 * that keyhole.ko does not depend on kvm.ko.
 */
#ifndef _KEYHOLE_MEMSLOTS_H
#define _KEYHOLE_MEMSLOTS_H

#include <linux/types.h>

#include <keyhole.h>

struct keyhole_vm;
struct pid;

/* The threads that run a KVM VM's vCPUs: pid[0..nr), each referenced. */
struct keyhole_kvm_vcpu_pids {
	unsigned int nr;
	struct pid *pid[];
};

/* True when QEMU holds a KVM VM of its own. */
bool keyhole_memslots_has_kvm(struct keyhole_vm *vm);
/*
 * The user memory slots of address space 0, sorted by GPA. Fills up to
 * max entries and sets *nr to the number of slots, which may be larger
 * (then the caller says ENOSPC). -ENOENT: no KVM VM.
 */
int keyhole_memslots_get(struct keyhole_vm *vm, struct keyhole_range *ranges,
			 u32 max, u32 *nr);
/*
 * For each vCPU of QEMU's KVM VM that has run, the thread that last
 * entered KVM_RUN on it (KVM's vcpu->pid). ERR_PTR: -ENOENT no KVM VM,
 * -E2BIG more than max vCPUs, -ENOMEM. Free with
 * keyhole_kvm_vcpu_pids_put().
 */
struct keyhole_kvm_vcpu_pids *keyhole_kvm_vcpu_pids(struct keyhole_vm *vm,
						    unsigned int max);
void keyhole_kvm_vcpu_pids_put(struct keyhole_kvm_vcpu_pids *pids);

#endif /* _KEYHOLE_MEMSLOTS_H */
