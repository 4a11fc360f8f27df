// SPDX-License-Identifier: GPL-2.0-only
/*
 * keyhole lsof: the open files of every process (or of one, with -p), as
 * the guest's /proc/PID/fd shows them.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "keyhole.h"

static int by_pid_fd(const void *a, const void *b)
{
	const struct kh_file *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return (x->fd > y->fd) - (x->fd < y->fd);
}

static int by_pid(const void *a, const void *b)
{
	const struct kh_task *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

static void print_text(const struct kh_file_list *list,
		       const struct kh_task_list *tasks)
{
	char comm[KH_COMM_LEN], path[sizeof(list->files->path)];
	unsigned int i;

	printf("%-15s %7s %5s %-7s %10s %s\n", "COMMAND", "PID", "FD", "TYPE",
	       "INODE", "NAME");
	for (i = 0; i < list->nr; i++) {
		const struct kh_file *f = &list->files[i];

		kh_format_comm(tasks, f->pid, comm);
		kh_printable(f->path, sizeof(f->path), path);
		printf("%-15s %7d %5d %-7s %10" PRIu64 " %s\n", comm, f->pid,
		       f->fd, f->type, f->inode, path);
	}
}

int cmd_lsof(const struct options *opts, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct kh_task_list *tasks = NULL;
	struct kh_file_list *list;
	struct kh_err err = { 0 };
	struct kh_ctx *ctx;
	struct kh_vm *vm;
	int32_t pid = 0;
	char *end;
	long val;
	int c, ret;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+p:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			val = strtol(optarg, &end, 10);
			if (*end || end == optarg || val <= 0 ||
			    val > INT32_MAX)
				return report_error(opts, "lsof: bad pid '%s'",
						    optarg);
			pid = val;
			break;
		case 'h':
			subcommand_usage(subcommand_find("lsof"), stdout);
			return 0;
		default:
			return report_error(opts, "lsof: bad option; see 'lsof --help'");
		}
	}
	if (optind != argc - 1)
		return report_error(opts, "lsof: expected one VM (a QEMU pid, QMP socket path or -name)");
	if (attach(opts, argv[optind], &ctx, &vm))
		return 1;
	ret = kh_files(vm, pid, &list, &err);
	if (ret) {
		detach(ctx, vm);
		return report_error(opts, "%s", err.msg);
	}
	/* Only for COMMAND: without it the files are still worth showing. */
	if (kh_tasks(vm, 0, &tasks, &err))
		tasks = NULL;
	else
		qsort(tasks->tasks, tasks->nr, sizeof(*tasks->tasks), by_pid);
	qsort(list->files, list->nr, sizeof(*list->files), by_pid_fd);
	if (opts->json)
		print_json(kh_json_files(list, tasks));
	else
		print_text(list, tasks);
	ret = result_status(list->result.flags, list->result.problem);
	kh_task_list_free(tasks);
	kh_file_list_free(list);
	detach(ctx, vm);
	return ret;
}
