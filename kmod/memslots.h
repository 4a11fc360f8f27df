/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Guest RAM ranges from the KVM VM that QEMU owns, found through QEMU's
 * file table, so that keyhole.ko does not depend on kvm.ko.
 */
#ifndef _KEYHOLE_MEMSLOTS_H
#define _KEYHOLE_MEMSLOTS_H

#include <linux/types.h>

#include <keyhole.h>

struct keyhole_vm;

/* True when QEMU holds a KVM VM of its own. */
bool keyhole_memslots_has_kvm(struct keyhole_vm *vm);
/*
 * The user memory slots of address space 0, sorted by GPA. Fills up to
 * max entries and sets *nr to the number of slots, which may be larger
 * (then the caller says ENOSPC). -ENOENT: no KVM VM.
 */
int keyhole_memslots_get(struct keyhole_vm *vm, struct keyhole_range *ranges,
			 u32 max, u32 *nr);

#endif /* _KEYHOLE_MEMSLOTS_H */
