// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The process queries: ps (tasks by tgid, then pid: a process's threads
 * follow it), lsof (files by pid, then fd, named by their process's comm)
 * and maps (one process's VMAs, in address order as read).
 */
#include <errno.h>
#include <stdlib.h>

#include "query/query.h"
#include "walk/toolkit.h"

#define PF_KTHREAD_	0x00200000


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
	/* The process's table, then each thread's own, as lsof lists. */
	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
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

const struct kh_query_op kh_query_ps = {
	.name = "ps", .args = ps_args, .run = run_ps,
};

/*
 * Each socket file's socket, as lsof names it by its endpoints: "socket"
 * {"proto", "local", "lport", "remote", "rport", "state", "type",
 * "path"} in its entry, from the connections the same read found. One
 * the read did not decode (netlink, packet) has none.
 */
static int add_sockets(json_t *files, const struct kh_conn_list *conns)
{
	json_t *by_sock = json_object(), *all = kh_json_conns(conns);
	json_t *file, *c;
	size_t i;
	int bad = !by_sock || !all;

	json_array_foreach(all, i, c)
		bad |= json_object_set(by_sock, json_string_value(
			json_object_get(c, "sock")) ?: "", c);
	json_array_foreach(files, i, file) {
		c = json_object_get(by_sock, json_string_value(
			json_object_get(file, "sock")) ?: "");
		if (!c || !strcmp(json_string_value(json_object_get(file,
							"sock")), "0x0"))
			continue;
		bad |= json_object_set_new(file, "socket", json_pack(
			"{s:O?, s:O?, s:O?, s:O?, s:O?, s:O?, s:O?, s:O?}",
			"proto", json_object_get(c, "proto"),
			"local", json_object_get(c, "local"),
			"lport", json_object_get(c, "lport"),
			"remote", json_object_get(c, "remote"),
			"rport", json_object_get(c, "rport"),
			"state", json_object_get(c, "state"),
			"type", json_object_get(c, "type"),
			"path", json_object_get(c, "path")));
	}
	json_decref(by_sock);
	json_decref(all);
	return bad ? -1 : 0;
}

static int run_lsof(struct kh_vm *vm, const struct kh_query_args *args,
		    struct kh_query_result *res, struct kh_err *err)
{
	struct kh_err tasks_err = { 0 }, conns_err = { 0 };
	struct kh_conn_list *conns = NULL;
	struct kh_task_list *tasks = NULL;
	struct kh_file_list *list = NULL;
	json_t *files;
	int held, ret;

	ret = kh_query_hold(vm, &held, err);
	if (!ret)
		ret = kh_files(vm, args->pid, &list, err);
	if (!ret)
		ret = kh_file_details(vm, list, err);
	/*
	 * Only for the comm and user, and the sockets' endpoints: without
	 * them the files are still worth showing.
	 */
	if (!ret && kh_tasks(vm, KH_TASKS_DETAILS, &tasks, &tasks_err))
		tasks = NULL;
	if (!ret && kh_conns_of(vm, list, &conns, &conns_err))
		conns = NULL;
	ret = kh_query_release(vm, held, ret, err);
	if (ret)
		goto out;
	if (tasks)
		qsort(tasks->tasks, tasks->nr, sizeof(*tasks->tasks),
		      task_by_pid);
	qsort(list->files, list->nr, sizeof(*list->files), file_by_pid_fd);
	files = kh_json_files(list, tasks);
	if (files && conns && add_sockets(files, conns)) {
		json_decref(files);
		files = NULL;
	}
	/* What the files' read met first, else what the sockets' did. */
	if (!list->result.flags && conns && conns->result.flags)
		list->result = conns->result;
	ret = kh_query_done("lsof", files, &list->result, res, err);
out:
	kh_conn_list_free(conns);
	kh_task_list_free(tasks);
	kh_file_list_free(list);
	return ret;
}

static const struct kh_query_arg lsof_args[] = {
	{ "pid", KH_QUERY_PID, 0, offsetof(struct kh_query_args, pid) },
	{ NULL, 0, 0, 0 },
};

const struct kh_query_op kh_query_lsof = {
	.name = "lsof", .args = lsof_args, .run = run_lsof,
};

/* One process's map with its devices: 0, or -errno with err set. */
static int one_map(struct kh_vm *vm, const struct kh_task *task,
		   struct kh_vma_list **listp, struct kh_err *err)
{
	int ret;

	*listp = NULL;
	ret = kh_maps_mm(vm, task->pid, task->mm, listp, err);
	if (!ret)
		ret = kh_vma_devices(vm, *listp, err);
	if (ret) {
		kh_vma_list_free(*listp);
		*listp = NULL;
	}
	return ret;
}

/* The VMAs maps --all prints at most, over every process. */
#define MAPS_ALL_VMAS	(1u << 22)

/*
 * Drops the entries of doc whose task (tasks[which[i]]) is not what it
 * was when the list was read: it exited or exec'd while its map was
 * read, and the map may be its mm's next owner's. One batch for all.
 * What the walk of a kept one's map found (marks[i]) goes into result;
 * a dropped one's is its exit's doing.
 */
static int drop_changed(struct kh_vm *vm, const struct kh_task_list *tasks,
			const unsigned int *which,
			const struct kh_result *marks, json_t *doc,
			struct kh_result *result, struct kh_err *err)
{
	const struct kh_task_layout *tl = &vm->profile->task;
	size_t nr = json_array_size(doc), i, n;
	struct kh_read *reads = calloc(2 * nr + 1, sizeof(*reads));
	struct { int32_t pid; uint64_t mm; } *now = calloc(nr + 1, sizeof(*now));
	int ret = 0;

	if (!reads || !now) {
		ret = kh_err_set(err, ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < nr; i++) {
		const struct kh_task *t = &tasks->tasks[which[i]];

		reads[2 * i] = (struct kh_read){ .addr = t->addr + tl->pid,
						 .buf = &now[i].pid, .len = 4 };
		reads[2 * i + 1] = (struct kh_read){ .addr = t->addr + tl->mm,
						     .buf = &now[i].mm, .len = 8 };
	}
	/* After the maps were read: the guest of now, past the page cache. */
	ret = kh_kva_fetch_fresh(vm, reads, 2 * nr, err);
	if (ret < 0)
		goto out;
	ret = 0;
	for (i = n = 0; i < nr; i++) {
		const struct kh_task *t = &tasks->tasks[which[i]];

		if (reads[2 * i].result || reads[2 * i + 1].result ||
		    now[i].pid != t->pid || now[i].mm != t->mm) {
			kh_mark(result, KH_RESULT_INCONSISTENT,
				"process %d exited or exec'd while its map was read: left out",
				t->pid);
			json_array_remove(doc, n);
			continue;
		}
		if (marks[i].flags)
			kh_mark(result, marks[i].flags, "process %d: %s",
				t->pid, marks[i].problem);
		n++;
	}
out:
	free(reads);
	free(now);
	return ret;
}

/*
 * Every process's map: [{"pid", "comm", "maps": [...]}], in pid order.
 * Processes that share an mm share its map, walked once; a process that
 * exits meanwhile is left out, and the result says so; a halting
 * technique holds the guest once for all of them.
 */
static int all_maps(struct kh_vm *vm, struct kh_query_result *res,
		    struct kh_err *err)
{
	struct kh_task_list *tasks = NULL;
	struct kh_result result = { 0 };
	struct kh_addr_set mms = { 0 };
	json_t *doc = json_array();
	char comm[KH_COMM_LEN];
	unsigned int i, *which = NULL, total = 0;
	struct kh_result *marks = NULL;
	int held = 0, ret;

	if (!doc)
		return kh_err_set(err, ENOMEM, "out of memory");
	ret = kh_vm_need_memory(vm, err);
	if (!ret)
		ret = kh_query_hold(vm, &held, err);
	if (!ret)
		ret = kh_tasks(vm, 0, &tasks, err);
	if (!ret) {
		qsort(tasks->tasks, tasks->nr, sizeof(*tasks->tasks),
		      task_by_pid);
		result = tasks->result;
		which = calloc(tasks->nr + 1, sizeof(*which));
		marks = calloc(tasks->nr + 1, sizeof(*marks));
		if (!which || !marks)
			ret = kh_err_set(err, ENOMEM, "out of memory");
	}
	for (i = 0; !ret && i < tasks->nr; i++) {
		const struct kh_task *t = &tasks->tasks[i];
		struct kh_vma_list *list;
		struct kh_err why = { 0 };
		json_t *maps;
		int seen;

		if (!t->mm || (t->flags & PF_KTHREAD_))
			continue;
		seen = kh_addr_set_find(&mms, t->mm);
		if (seen >= 0) {
			/* CLONE_VM without a thread group: the same map. */
			maps = json_incref(json_object_get(
				json_array_get(doc, seen), "maps"));
		} else {
			ret = one_map(vm, t, &list, &why);
			/* Its mm gone since the list was read: left out. */
			if (ret == -ENOENT) {
				kh_mark(&result, KH_RESULT_INCONSISTENT,
					"process %d exited while maps were read: %s",
					t->pid, why.msg);
				ret = 0;
				continue;
			}
			if (ret) {
				*err = why;
				break;
			}
			marks[json_array_size(doc)] = list->result;
			maps = kh_json_vmas(list);
			kh_vma_list_free(list);
			if (kh_addr_set_put(&mms, t->mm,
					    json_array_size(doc)) < 0) {
				json_decref(maps);
				maps = NULL;
			}
		}
		total += json_array_size(maps);
		if (total > MAPS_ALL_VMAS) {
			json_decref(maps);
			kh_mark(&result, KH_RESULT_INCOMPLETE,
				"more than %u mappings in all: stopped at process %d",
				MAPS_ALL_VMAS, t->pid);
			break;
		}
		kh_printable(t->comm, KH_COMM_LEN, comm);
		which[json_array_size(doc)] = i;
		if (!maps || json_array_append_new(doc,
				json_pack("{s:i, s:s, s:o}", "pid", t->pid,
					  "comm", comm, "maps", maps))) {
			ret = kh_err_set(err, ENOMEM, "out of memory");
			break;
		}
	}
	if (!ret)
		ret = drop_changed(vm, tasks, which, marks, doc, &result, err);
	ret = kh_query_release(vm, held, ret, err);
	kh_task_list_free(tasks);
	kh_addr_set_free(&mms);
	free(which);
	free(marks);
	if (ret) {
		json_decref(doc);
		return ret;
	}
	return kh_query_done("maps", doc, &result, res, err);
}

static int run_maps(struct kh_vm *vm, const struct kh_query_args *args,
		    struct kh_query_result *res, struct kh_err *err)
{
	struct kh_vma_list *list = NULL;
	int held, ret;

	if (args->all)
		return all_maps(vm, res, err);
	ret = kh_query_hold(vm, &held, err);
	if (!ret)
		ret = kh_maps(vm, args->pid, &list, err);
	if (!ret)
		ret = kh_vma_devices(vm, list, err);
	ret = kh_query_release(vm, held, ret, err);
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
	{ "pid", KH_QUERY_PID, 0, offsetof(struct kh_query_args, pid) },
	{ "all", KH_QUERY_BOOL, 0, offsetof(struct kh_query_args, all) },
	{ NULL, 0, 0, 0 },
};

/* A pid, or all; checked before anything is attached. */
static int check_maps(const struct kh_query_args *args, struct kh_err *err)
{
	if (args->pid && args->all)
		return kh_err_set(err, EINVAL,
				  "maps: 'pid' and 'all' exclude each other");
	if (!args->pid && !args->all)
		return kh_err_set(err, EINVAL,
				  "maps: 'pid' or 'all' is required");
	return 0;
}

const struct kh_query_op kh_query_maps = {
	.name = "maps", .args = maps_args, .run = run_maps,
	.check = check_maps,
};
