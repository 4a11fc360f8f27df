// SPDX-License-Identifier: GPL-2.0-only
/*
 * keyhole ps: the guest's processes, or with -T its threads, as the guest
 * kernel's task list has them.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keyhole.h"

static int by_tgid_pid(const void *a, const void *b)
{
	const struct kh_task *x = a, *y = b;

	if (x->tgid != y->tgid)
		return x->tgid < y->tgid ? -1 : 1;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

static void print_text(const struct kh_task_list *list)
{
	char comm[KH_COMM_LEN];
	unsigned int i;

	printf("%7s %7s %7s %6s %s %s\n", "PID", "TGID", "PPID", "UID", "S",
	       "COMM");
	for (i = 0; i < list->nr; i++) {
		const struct kh_task *t = &list->tasks[i];

		kh_printable(t->comm, KH_COMM_LEN, comm);
		printf("%7d %7d %7d %6u %c %s\n", t->pid, t->tgid, t->ppid,
		       t->uid, t->state, comm);
	}
}

int cmd_ps(const struct options *opts, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "threads", no_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned int flags = 0;
	struct kh_task_list *list;
	struct kh_err err = { 0 };
	struct kh_ctx *ctx;
	struct kh_vm *vm;
	int c, ret;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+Th", longopts, NULL)) != -1) {
		switch (c) {
		case 'T':
			flags |= KH_TASKS_THREADS;
			break;
		case 'h':
			subcommand_usage(&subcommands[0], stdout);
			return 0;
		default:
			return report_error(opts, "ps: bad option; see 'ps --help'");
		}
	}
	if (optind != argc - 1)
		return report_error(opts, "ps: expected one VM (a QEMU pid, QMP socket path or -name)");
	if (attach(opts, argv[optind], &ctx, &vm))
		return 1;
	ret = kh_tasks(vm, flags, &list, &err);
	if (ret) {
		detach(ctx, vm);
		return report_error(opts, "%s", err.msg);
	}
	qsort(list->tasks, list->nr, sizeof(*list->tasks), by_tgid_pid);
	if (opts->json)
		print_json(kh_json_tasks(list));
	else
		print_text(list);
	ret = result_status(list->result.flags, list->result.problem);
	kh_task_list_free(list);
	detach(ctx, vm);
	return ret;
}
