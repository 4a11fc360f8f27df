// SPDX-License-Identifier: GPL-2.0-only
/*
 * keyhole lsmod: the guest's loaded kernel modules, in the order and with
 * the sizes, use counts and states of its /proc/modules.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "keyhole.h"

#define NAME_LEN sizeof(((struct kh_module *)0)->name)
#define STATE_LEN sizeof(((struct kh_module *)0)->state)

static void print_text(const struct kh_module_list *list)
{
	char name[NAME_LEN], state[STATE_LEN];
	unsigned int i;

	printf("%-19s %8s  %-7s  %s\n", "Module", "Size", "Used by", "State");
	for (i = 0; i < list->nr; i++) {
		const struct kh_module *m = &list->modules[i];
		char used[16] = "-";

		kh_printable(m->name, sizeof(m->name), name);
		kh_printable(m->state, sizeof(m->state), state);
		/* -1: the kernel counts no users (no CONFIG_MODULE_UNLOAD). */
		if (m->refcount != -1)
			snprintf(used, sizeof(used), "%d", m->refcount);
		printf("%-19s %8" PRIu64 "  %-7s  %s\n", name, m->size, used,
		       state);
	}
}

int cmd_lsmod(const struct options *opts, int argc, char **argv)
{
	struct kh_module_list *list;
	struct kh_err err = { 0 };
	struct kh_ctx *ctx;
	struct kh_vm *vm;
	const char *spec;
	int ret;

	spec = only_vm_argument(opts, argc, argv, &ret);
	if (!spec)
		return ret;
	if (attach(opts, spec, &ctx, &vm))
		return 1;
	ret = kh_modules(vm, &list, &err);
	if (ret) {
		detach(ctx, vm);
		return report_error(opts, "%s", err.msg);
	}
	if (opts->json)
		print_json(kh_json_modules(list));
	else
		print_text(list);
	ret = result_status(list->result.flags, list->result.problem);
	kh_module_list_free(list);
	detach(ctx, vm);
	return ret;
}
