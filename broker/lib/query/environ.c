// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The queries of a process's own state, with an optional "pid": creds
 * (kh_creds), bash (kh_bash_history), elfs and libs (kh_elfs), and envars: each process's environment (or one's, with "pid"),
 * as its /proc/PID/environ has it, by pid. Kernel threads have none and
 * are left out (one that borrowed a process's mm, as vhost workers do,
 * too: /proc gives them none); a process that exits or execs while it is
 * read is left out and the result says it was inconsistent; one whose
 * environment cannot be read is kept, empty, and the result says which
 * and why.
 */
#include <errno.h>
#include <stdlib.h>

#include "kernel/memory.h"
#include "query/query.h"
#include "walk/toolkit.h"

#define PF_KTHREAD_	0x00200000

/* As much as kh_task_environ() reads. */
#define ENVIRON_MAX (128 * 1024)

static int by_pid(const void *a, const void *b)
{
	const struct kh_task *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

static int read_all(struct kh_vm *vm, const struct kh_query_args *args,
		    struct kh_task_list *tasks, json_t *procs,
		    struct kh_result *result, struct kh_err *err)
{
	char *buf = malloc(ENVIRON_MAX);
	unsigned int i, found = 0;
	int ret = 0;

	if (!buf)
		return kh_err_set(err, ENOMEM, "out of memory for an environment");
	for (i = 0; i < tasks->nr && !ret; i++) {
		const struct kh_task *t = &tasks->tasks[i];
		struct kh_err one = { 0 };
		size_t len = 0;

		/* A thread asked for by its id: its process's environment. */
		if (args->pid ? t->pid != args->pid : t->pid != t->tgid)
			continue;
		found++;
		if (!t->mm || (t->flags & PF_KTHREAD_))
			continue;
		ret = kh_task_environ(vm, t, buf, ENVIRON_MAX, &len, &one);
		if (ret == -ESRCH || ret == -EOPNOTSUPP) {
			*err = one;
			break;
		}
		if (ret == -ENOENT) {
			kh_mark(result, KH_RESULT_INCONSISTENT,
				"process %d exited or exec'd while its environment was read",
				t->pid);
			ret = 0;
			continue;
		}
		if (ret) {
			kh_mark(result, KH_RESULT_INCOMPLETE,
				"the environment of process %d: %s", t->pid,
				one.msg);
			len = 0;
			ret = 0;
		}
		if (json_array_append_new(procs, kh_json_environ(t, buf, len))) {
			ret = kh_err_set(err, ENOMEM, "out of memory for an environment");
			break;
		}
	}
	free(buf);
	if (!ret && args->pid && !found)
		ret = kh_err_set(err, ENOENT, "no process %d in the guest",
				 args->pid);
	return ret;
}

static int run_envars(struct kh_vm *vm, const struct kh_query_args *args,
		      struct kh_query_result *res, struct kh_err *err)
{
	struct kh_task_list *tasks = NULL;
	json_t *procs = json_array();
	int held, ret;

	/* Before walking: the agent's tasks carry no mm to read through. */
	if (kh_vm_need_memory(vm, err)) {
		json_decref(procs);
		return -EOPNOTSUPP;
	}
	if (!procs)
		return kh_err_set(err, ENOMEM, "out of memory for environments");
	ret = kh_query_hold(vm, &held, err);
	if (!ret)
		ret = kh_tasks(vm, args->pid ? KH_TASKS_THREADS : 0, &tasks,
			       err);
	/* Whether each still has its mm is asked of the guest of now. */
	if (!ret && kh_task_list_refresh_mms(vm, tasks) == -ESRCH)
		ret = kh_err_set(err, ESRCH, "the VM exited");
	if (!ret) {
		qsort(tasks->tasks, tasks->nr, sizeof(*tasks->tasks), by_pid);
		ret = read_all(vm, args, tasks, procs, &tasks->result, err);
	}
	ret = kh_query_release(vm, held, ret, err);
	if (!ret)
		ret = kh_query_done("envars", procs, &tasks->result, res, err);
	else
		json_decref(procs);
	kh_task_list_free(tasks);
	return ret;
}

static const struct kh_query_arg envars_args[] = {
	{ "pid", KH_QUERY_PID, 0, offsetof(struct kh_query_args, pid) },
	{ NULL, 0, 0, 0 },
};

const struct kh_query_op kh_query_envars = {
	.name = "envars", .args = envars_args, .run = run_envars,
};

/* creds: each process's credentials, by pid (kh_creds sorts them). */
static int run_creds(struct kh_vm *vm, const struct kh_query_args *args,
		     struct kh_query_result *res, struct kh_err *err)
{
	struct kh_cred_list *list;
	int ret;

	ret = kh_creds(vm, args->pid, &list, err);
	if (ret)
		return ret;
	ret = kh_query_done("creds", kh_json_creds(list), &list->result, res,
			    err);
	kh_cred_list_free(list);
	return ret;
}

const struct kh_query_op kh_query_creds = {
	.name = "creds", .args = envars_args, .run = run_creds,
};

/* bash: the history of each running bash (or of one process), by pid. */
static int run_bash(struct kh_vm *vm, const struct kh_query_args *args,
		    struct kh_query_result *res, struct kh_err *err)
{
	struct kh_bash_list *list = NULL;
	int held, ret;

	ret = kh_query_hold(vm, &held, err);
	if (!ret)
		ret = kh_bash_history(vm, args->pid, &list, err);
	ret = kh_query_release(vm, held, ret, err);
	if (!ret)
		ret = kh_query_done("bash", kh_json_bash(list), &list->result,
				    res, err);
	kh_bash_list_free(list);
	return ret;
}

const struct kh_query_op kh_query_bash = {
	.name = "bash", .args = envars_args, .run = run_bash,
};

/* elfs and libs: the ELF objects every process (or one) maps, by pid. */
static int run_objects(struct kh_vm *vm, const struct kh_query_args *args,
		       const char *name, int libs,
		       struct kh_query_result *res, struct kh_err *err)
{
	struct kh_elf_list *list = NULL;
	int held, ret;

	ret = kh_query_hold(vm, &held, err);
	if (!ret)
		ret = kh_elfs(vm, args->pid, libs, &list, err);
	ret = kh_query_release(vm, held, ret, err);
	if (!ret)
		ret = kh_query_done(name, kh_json_elfs(list), &list->result,
				    res, err);
	kh_elf_list_free(list);
	return ret;
}

static int run_elfs(struct kh_vm *vm, const struct kh_query_args *args,
		    struct kh_query_result *res, struct kh_err *err)
{
	return run_objects(vm, args, "elfs", 0, res, err);
}

static int run_libs(struct kh_vm *vm, const struct kh_query_args *args,
		    struct kh_query_result *res, struct kh_err *err)
{
	return run_objects(vm, args, "libs", 1, res, err);
}

const struct kh_query_op kh_query_elfs = {
	.name = "elfs", .args = envars_args, .run = run_elfs,
};

const struct kh_query_op kh_query_libs = {
	.name = "libs", .args = envars_args, .run = run_libs,
};
