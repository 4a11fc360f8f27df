// SPDX-License-Identifier: GPL-2.0-only
/*
 * keyhole lsmod: the guest's loaded kernel modules, in the order and with
 * the sizes, use counts and states of its /proc/modules.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "keyhole.h"

#define EXIT_PARTIAL 3	/* printed what could be read; see the warning */

#define NAME_LEN sizeof(((struct kh_module *)0)->name)
#define STATE_LEN sizeof(((struct kh_module *)0)->state)

/* Names come from guest memory: show them, never let them steer a tty. */
static void printable(const char *in, size_t size, char *out)
{
	size_t i;

	for (i = 0; i < size - 1 && in[i]; i++)
		out[i] = in[i] >= 0x20 && in[i] < 0x7f ? in[i] : '?';
	out[i] = '\0';
}

static void print_text(const struct kh_module_list *list)
{
	char name[NAME_LEN], state[STATE_LEN];
	unsigned int i;

	printf("%-19s %8s  %-7s  %s\n", "Module", "Size", "Used by", "State");
	for (i = 0; i < list->nr; i++) {
		const struct kh_module *m = &list->modules[i];
		char used[16] = "-";

		printable(m->name, sizeof(m->name), name);
		printable(m->state, sizeof(m->state), state);
		/* -1: the kernel counts no users (no CONFIG_MODULE_UNLOAD). */
		if (m->refcount != -1)
			snprintf(used, sizeof(used), "%d", m->refcount);
		printf("%-19s %8" PRIu64 "  %-7s  %s\n", name, m->size, used,
		       state);
	}
}

json_t *modules_json(const struct kh_module_list *list)
{
	char name[NAME_LEN], state[STATE_LEN], addr[24];
	json_t *array = json_array();
	unsigned int i;

	for (i = 0; i < list->nr; i++) {
		const struct kh_module *m = &list->modules[i];

		printable(m->name, sizeof(m->name), name);
		printable(m->state, sizeof(m->state), state);
		snprintf(addr, sizeof(addr), "0x%" PRIx64, m->addr);
		json_array_append_new(array,
			json_pack("{s:s, s:s, s:I, s:i, s:s}",
				  "addr", addr, "name", name,
				  "size", (json_int_t)m->size,
				  "refcount", m->refcount, "state", state));
	}
	return array;
}

int cmd_lsmod(const struct options *opts, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct kh_module_list *list;
	struct kh_err err = { 0 };
	struct kh_ctx *ctx;
	struct kh_vm *vm;
	int c, ret;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			subcommand_usage(subcommand_find("lsmod"), stdout);
			return 0;
		default:
			return report_error(opts, "lsmod: bad option; see 'lsmod --help'");
		}
	}
	if (optind != argc - 1)
		return report_error(opts, "lsmod: expected one VM (a QEMU pid, QMP socket path or -name)");
	if (attach(opts, argv[optind], &ctx, &vm))
		return 1;
	ret = kh_modules(vm, &list, &err);
	if (ret) {
		detach(ctx, vm);
		return report_error(opts, "%s", err.msg);
	}
	if (opts->json)
		print_json(modules_json(list));
	else
		print_text(list);
	ret = 0;
	if (list->result.flags) {
		fprintf(stderr, "%s: warning: %s result: %s\n", prog_name,
			list->result.flags & KH_RESULT_INCOMPLETE ?
				"incomplete" : "inconsistent",
			list->result.problem);
		if (list->result.flags & KH_RESULT_INCOMPLETE)
			ret = EXIT_PARTIAL;
	}
	kh_module_list_free(list);
	detach(ctx, vm);
	return ret;
}
