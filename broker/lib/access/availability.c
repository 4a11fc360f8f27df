// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Which access techniques work on a VM, and for those that do not, why
 * and what would enable them (kh_techniques, `keyhole techniques`): each
 * technique is opened for real, or probed where opening would copy all
 * of guest RAM, on the same process and layout kh_vm_open() would use.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "access/snapshot_store.h"
#include "vm.h"

static void describe(const struct kh_access_ops *ops, struct kh_technique *t)
{
	t->name = ops->name;
	t->klass = ops->klass;
	t->description = ops->description;
	t->props = ops->props;
}

int kh_techniques(const char *spec, const struct kh_vm_config *cfg,
		  struct kh_technique **listp, unsigned int *nr,
		  struct kh_err *err)
{
	static const struct kh_vm_config defaults;
	const struct kh_access_ops *const *ops;
	struct kh_technique *list;
	struct kh_vm *vm;
	unsigned int n = 0;
	int ret;

	if (!cfg)
		cfg = &defaults;
	list = calloc(KH_LAYOUT_MAX_RANGES, sizeof(*list));
	if (!list)
		return kh_err_set(err, ENOMEM, "out of memory");
	ret = kh_vm_alloc(cfg, &vm, err);
	if (ret) {
		free(list);
		return ret;
	}
	if (kh_vm_spec_is_image(spec)) {
		/* A dump is read one way only. */
		ret = kh_image_open(spec, &vm->layout, &vm->acc, err);
		if (!ret) {
			describe(vm->acc.ops, &list[n]);
			list[n++].available = 1;
		}
		goto out;
	}
	ret = kh_vm_find_target(vm, spec, cfg, err);
	if (ret)
		goto out;
	kh_vm_init_access(vm);
	/*
	 * Available means it really opens (or its probe says it would,
	 * where opening costs a copy of all RAM): its error says what is
	 * missing and how to get it.
	 */
	for (ops = kh_access_all; *ops; ops++) {
		struct kh_err why = { 0 };
		struct kh_technique *t = &list[n++];

		describe(*ops, t);
		vm->acc.ops = *ops;
		vm->acc.priv = NULL;
		if ((*ops)->probe) {
			t->available = !(*ops)->probe(&vm->acc, &why);
		} else {
			t->available = !(*ops)->open(&vm->acc, &why);
			if (t->available)
				(*ops)->close(&vm->acc);
		}
		if (!t->available)
			snprintf(t->reason, sizeof(t->reason), "%s", why.msg);
	}
	vm->acc.ops = NULL;
out:
	kh_vm_close(vm);
	if (ret) {
		free(list);
		return ret;
	}
	*listp = list;
	*nr = n;
	return 0;
}
