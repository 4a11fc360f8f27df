// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The process queries: ps (tasks by tgid, then pid: a process's threads
 * follow it), lsof (files by pid, then fd, named by their process's comm)
 * and maps (one process's VMAs, in address order as read).
 */
#include <stdlib.h>

#include "query/query.h"

static int task_by_tgid_pid(const void *a, const void *b)
{
	const struct kh_task *x = a, *y = b;

	if (x->tgid != y->tgid)
		return x->tgid < y->tgid ? -1 : 1;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

/* kh_format_comm() looks processes up by pid with a binary search. */
static int task_by_pid(const void *a, const void *b)
{
	const struct kh_task *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

static int file_by_pid_fd(const void *a, const void *b)
{
	const struct kh_file *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return (x->fd > y->fd) - (x->fd < y->fd);
}

static int run_ps(struct kh_vm *vm, const struct kh_query_args *args,
		  struct kh_query_result *res, struct kh_err *err)
{
	struct kh_task_list *list;
	int ret;

	/* What ps -ef shows: effective ids, terminal, CPU time, argv. */
	ret = kh_tasks(vm, KH_TASKS_DETAILS | KH_TASKS_CMDLINE |
		       (args->threads ? KH_TASKS_THREADS : 0), &list, err);
	if (ret)
		return ret;
	qsort(list->tasks, list->nr, sizeof(*list->tasks), task_by_tgid_pid);
	ret = kh_query_done("ps", kh_json_tasks(list), &list->result, res,
			    err);
	kh_task_list_free(list);
	return ret;
}

static const struct kh_query_arg ps_args[] = {
	{ "threads", KH_QUERY_BOOL, 0, offsetof(struct kh_query_args, threads) },
	{ NULL, 0, 0, 0 },
};

const struct kh_query_op kh_query_ps = { "ps", ps_args, run_ps };

static int run_lsof(struct kh_vm *vm, const struct kh_query_args *args,
		    struct kh_query_result *res, struct kh_err *err)
{
	struct kh_task_list *tasks = NULL;
	struct kh_err tasks_err = { 0 };
	struct kh_file_list *list = NULL;
	int ret;

	ret = kh_files(vm, args->pid, &list, err);
	if (!ret)
		ret = kh_file_details(vm, list, err);
	if (ret) {
		kh_file_list_free(list);
		return ret;
	}
	/*
	 * Only for the comm and user: without them the files are still
	 * worth showing.
	 */
	if (kh_tasks(vm, KH_TASKS_DETAILS, &tasks, &tasks_err))
		tasks = NULL;
	else
		qsort(tasks->tasks, tasks->nr, sizeof(*tasks->tasks),
		      task_by_pid);
	qsort(list->files, list->nr, sizeof(*list->files), file_by_pid_fd);
	ret = kh_query_done("lsof", kh_json_files(list, tasks), &list->result,
			    res, err);
	kh_task_list_free(tasks);
	kh_file_list_free(list);
	return ret;
}

static const struct kh_query_arg lsof_args[] = {
	{ "pid", KH_QUERY_PID, 0, offsetof(struct kh_query_args, pid) },
	{ NULL, 0, 0, 0 },
};

const struct kh_query_op kh_query_lsof = { "lsof", lsof_args, run_lsof };

static int run_maps(struct kh_vm *vm, const struct kh_query_args *args,
		    struct kh_query_result *res, struct kh_err *err)
{
	struct kh_vma_list *list = NULL;
	int ret;

	ret = kh_maps(vm, args->pid, &list, err);
	if (!ret)
		ret = kh_vma_devices(vm, list, err);
	if (ret) {
		kh_vma_list_free(list);
		return ret;
	}
	ret = kh_query_done("maps", kh_json_vmas(list), &list->result, res,
			    err);
	kh_vma_list_free(list);
	return ret;
}

static const struct kh_query_arg maps_args[] = {
	{ "pid", KH_QUERY_PID, 1, offsetof(struct kh_query_args, pid) },
	{ NULL, 0, 0, 0 },
};

const struct kh_query_op kh_query_maps = { "maps", maps_args, run_maps };
