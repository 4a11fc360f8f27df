/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A VM for unit tests of the engine's read path: no QEMU, an access
 * technique that is a function over the test's own bytes, and a RAM
 * layout of the test's choosing. What such a test checks is the layer
 * above the technique (page cache, read log), not a guest.
 */
#ifndef KH_TEST_FAKE_VM_H
#define KH_TEST_FAKE_VM_H

#include <string.h>

#include "vm.h"

static inline void fake_vm(struct kh_vm *vm, struct kh_access_ops *ops,
			   const char *name,
			   int (*read)(struct kh_access *acc,
				       struct kh_read *reads, unsigned int nr),
			   const struct kh_ram_range *ranges, unsigned int nr)
{
	memset(vm, 0, sizeof(*vm));
	memset(ops, 0, sizeof(*ops));
	ops->name = name;
	ops->read = read;
	vm->acc.ops = ops;
	vm->layout.nr = nr;
	memcpy(vm->layout.range, ranges, sizeof(*ranges) * nr);
}

#endif /* KH_TEST_FAKE_VM_H */
