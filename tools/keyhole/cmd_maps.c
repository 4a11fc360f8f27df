// SPDX-License-Identifier: GPL-2.0-only
/*
 * keyhole maps: one process's memory map, laid out as /proc/PID/maps. The
 * device column is printed as 00:00: keyhole does not resolve devices.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keyhole.h"

/* /proc/PID/maps pads the path to this column (25 + 6 * sizeof(void *)). */
#define PATH_COLUMN 73

static void print_text(const struct kh_vma_list *list)
{
	char path[sizeof(list->vmas->path)];
	unsigned int i;
	int n;

	for (i = 0; i < list->nr; i++) {
		const struct kh_vma *v = &list->vmas[i];

		n = printf("%08" PRIx64 "-%08" PRIx64 " %s %08" PRIx64
			   " 00:00 %" PRIu64 " ", v->start, v->end, v->perms,
			   v->offset, v->inode);
		if (v->path[0]) {
			kh_printable(v->path, sizeof(path), path);
			printf("%*s%s", n < PATH_COLUMN ? PATH_COLUMN - n : 0,
			       "", path);
		}
		putchar('\n');
	}
}

static int parse_pid(const char *arg, int32_t *pid)
{
	char *end;
	long val;

	val = strtol(arg, &end, 10);
	if (!*arg || *end || val <= 0 || val > INT32_MAX)
		return -1;
	*pid = val;
	return 0;
}

int cmd_maps(const struct options *opts, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct kh_vma_list *list;
	struct kh_err err = { 0 };
	struct kh_ctx *ctx;
	struct kh_vm *vm;
	int32_t pid;
	int c, ret;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			subcommand_usage(subcommand_find("maps"), stdout);
			return 0;
		default:
			return report_error(opts, "maps: bad option; see 'maps --help'");
		}
	}
	if (optind != argc - 2)
		return report_error(opts, "maps: expected a PID and one VM (a QEMU pid, QMP socket path or -name)");
	if (parse_pid(argv[optind], &pid))
		return report_error(opts, "maps: '%s' is not a process id",
				    argv[optind]);
	if (attach(opts, argv[optind + 1], &ctx, &vm))
		return 1;
	ret = kh_maps(vm, pid, &list, &err);
	if (ret) {
		detach(ctx, vm);
		return report_error(opts, "%s", err.msg);
	}
	if (opts->json)
		print_json(kh_json_vmas(list));
	else
		print_text(list);
	ret = result_status(list->result.flags, list->result.problem);
	kh_vma_list_free(list);
	detach(ctx, vm);
	return ret;
}
