// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Hidden processes (Volatility's psxview): a process the kernel keeps in
 * one of its other views but not on the task list that ps, /proc's
 * listing code and keyhole ps walk. A rootkit unlinks a task from that
 * list (list_del on task->tasks); the others it cannot easily touch:
 *
 * - the pid IDR: every pid in use is in the initial pid namespace's IDR
 *   (an xarray, init_pid_ns.idr), and its struct pid leads to its task
 *   (pid->tasks[PIDTYPE_PID]); removing it would break signals, wait and
 *   /proc/PID;
 * - the children lists: every process is on its parent's
 *   (task->children, linked by sibling), walked down from init_task;
 *   removing it would break wait and reparenting;
 * - the run queues (runqueues.c): a process that is to run again is
 *   queued on a CPU or running there.
 *
 * Only thread group leaders are compared (threads are not on the list).
 * The task list was walked before these views were read, and through a
 * batching technique their pages may be older still (the task walk read
 * them ahead, walk/tasks_ahead.c): a process forked or gone in between
 * could look hidden, so one that does is looked for again on a fresh
 * walk of the list, and is reported only if it is still missing and
 * still alive then (a leader, not exiting, and its pid, when the IDR gave
 * it, still leading to it).
 *
 * The views are untrusted: walk/xarray.c bounds the IDR, the lists and
 * queues are bounded and cycle-checked, and every entry is checked
 * before it is followed.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/check.h"
#include "kernel/page_cache.h"
#include "walk/xarray.h"

/* PID_MAX_LIMIT on 64-bit: no IDR holds more pids. */
#define MAX_PIDS (4 * 1024 * 1024)

enum {
	NS_XA_HEAD, PID_TASKS, PID_NUMBERS, UPID_NR,
	TASK_PID_LINKS, TASK_GROUP_LEADER, TASK_EXIT_STATE,
	TASK_COMM, TASK_TGID, TASK_CHILDREN, TASK_SIBLING,
	NR_FIELDS
};

static const struct kh_field fields[NR_FIELDS] = {
	[NS_XA_HEAD] = { "pid_namespace", "idr.idr_rt.xa_head" },
	[PID_TASKS] = { "pid", "tasks" },
	[PID_NUMBERS] = { "pid", "numbers" },
	[UPID_NR] = { "upid", "nr" },
	[TASK_PID_LINKS] = { "task_struct", "pid_links" },
	[TASK_GROUP_LEADER] = { "task_struct", "group_leader" },
	[TASK_EXIT_STATE] = { "task_struct", "exit_state" },
	[TASK_COMM] = { "task_struct", "comm" },
	[TASK_TGID] = { "task_struct", "tgid" },
	[TASK_CHILDREN] = { "task_struct", "children" },
	[TASK_SIBLING] = { "task_struct", "sibling" },
};

/* The views a leader was seen in. */
enum { VIEW_IDR = 1, VIEW_CHILDREN = 2, VIEW_RUNQUEUE = 4 };

struct seen {
	uint64_t task;
	uint64_t pid;		/* its struct pid, from the IDR, or 0 */
	unsigned int views;
};

struct views {
	struct kh_check_ctx *cx;
	const uint32_t *off;
	struct seen *seen;
	unsigned int nr, cap;
	struct kh_addr_set index;	/* task -> its index in seen */
	unsigned int cpus;
	int bad_idr, bad_children, bad_runqueues;
};

/* Records that leader task is in view (with its pid, for the IDR's). */
static int saw(struct views *v, uint64_t task, uint64_t pid,
	       unsigned int view)
{
	int i = kh_addr_set_find(&v->index, task);

	if (i >= 0) {
		v->seen[i].views |= view;
		if (pid)
			v->seen[i].pid = pid;
		return 0;
	}
	if (v->nr == MAX_PIDS) {
		v->bad_idr = 1;
		return 0;
	}
	if (v->nr == v->cap) {
		unsigned int cap = v->cap ? v->cap * 2 : 256;
		struct seen *n = realloc(v->seen, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		v->seen = n;
		v->cap = cap;
	}
	if (kh_addr_set_put(&v->index, task, v->nr) < 0)
		return -ENOMEM;
	v->seen[v->nr++] = (struct seen){ .task = task, .pid = pid,
					  .views = view };
	return 0;
}

/*
 * The IDR's pids: each one's number and task, then each task's leader
 * (two batches); the leaders are seen.
 */
static int idr_view(struct views *v, uint64_t head)
{
	const uint32_t *off = v->off;
	struct kh_addr_list pids = { 0 };
	struct kh_read *reads = NULL;
	uint64_t *first = NULL, *leader = NULL;
	unsigned int i, n;
	int ret;

	ret = kh_xarray_collect(v->cx->vm, head, MAX_PIDS, &pids,
				&v->bad_idr);
	if (ret || !pids.nr)
		goto out;
	reads = calloc(pids.nr, sizeof(*reads));
	first = calloc(pids.nr, sizeof(*first));
	leader = calloc(pids.nr, sizeof(*leader));
	if (!reads || !first || !leader) {
		ret = -ENOMEM;
		goto out;
	}
	/* tasks[PIDTYPE_PID], the first of the array. */
	for (i = 0; i < pids.nr; i++)
		reads[i] = (struct kh_read){
			.addr = pids.addrs[i] + off[PID_TASKS],
			.buf = &first[i], .len = 8 };
	ret = kh_kva_fetch(v->cx->vm, reads, pids.nr, NULL);
	if (ret < 0)
		goto out;
	for (i = 0, n = 0; i < pids.nr; i++) {
		/* No task: a pid allocated for a fork not yet done, or freed. */
		if (reads[i].result || (first[i] &&
		    (!kh_kernel_ptr_aligned(v->cx->vm, first[i], 8) ||
		     first[i] < off[TASK_PID_LINKS]))) {
			v->bad_idr = 1;
			first[i] = 0;
		}
		if (first[i])
			first[i] -= off[TASK_PID_LINKS];
	}
	for (i = 0, n = 0; i < pids.nr; i++)
		if (first[i])
			reads[n++] = (struct kh_read){
				.addr = first[i] + off[TASK_GROUP_LEADER],
				.buf = &leader[i], .len = 8 };
	ret = n ? kh_kva_fetch(v->cx->vm, reads, n, NULL) : 0;
	if (ret < 0)
		goto out;
	/* An unread leader stays 0: that pid is not compared. */
	v->bad_idr |= ret > 0;
	ret = 0;
	/* Threads are not on the task list: only leaders are compared. */
	for (i = 0; !ret && i < pids.nr; i++)
		if (first[i] && leader[i] == first[i])
			ret = saw(v, first[i], pids.addrs[i], VIEW_IDR);
out:
	free(pids.addrs);
	free(reads);
	free(first);
	free(leader);
	return ret;
}

/* The children walk: the queue of tasks, every task already in it. */
struct children {
	struct views *v;
	struct kh_addr_list queue;
	struct kh_addr_set visited;
};

/*
 * A child, appended to the queue once. A real kernel has a task on one
 * children list only: one met again ends the list it was met on (a
 * loop), so that no guest can make the walk read more than MAX_PIDS.
 */
static int add_child(struct kh_vm *vm, uint64_t task, void *opaque)
{
	struct children *c = opaque;
	int ret;

	if (c->queue.nr >= MAX_PIDS) {
		c->v->bad_children = 1;
		return 1;
	}
	ret = kh_addr_set_add(&c->visited, task);
	if (ret <= 0) {
		c->v->bad_children |= !ret;
		return ret < 0 ? ret : 1;
	}
	ret = kh_list_collect(vm, task, &c->queue);
	return ret ? ret : saw(c->v, task, 0, VIEW_CHILDREN);
}

/* Every process on a children list, walked down from init_task. */
static int children_view(struct views *v)
{
	struct kh_check_ctx *cx = v->cx;
	struct children c = { .v = v };
	struct kh_result result = { 0 };
	uint64_t init;
	unsigned int i;
	int ret;

	if (kh_sym_va(cx->vm, "init_task", &init, NULL)) {
		v->bad_children = 1;
		return 0;
	}
	ret = kh_list_collect(cx->vm, init, &c.queue);
	if (!ret && kh_addr_set_add(&c.visited, init) < 0)
		ret = -ENOMEM;
	/* Breadth first: each walk appends the children it finds. */
	for (i = 0; !ret && i < c.queue.nr; i++)
		ret = kh_list_walk(cx->vm,
				   c.queue.addrs[i] + v->off[TASK_CHILDREN],
				   v->off[TASK_SIBLING], MAX_PIDS, add_child,
				   &c, &result, cx->err);
	if (result.flags & KH_RESULT_INCOMPLETE)
		v->bad_children = 1;
	kh_addr_set_free(&c.visited);
	free(c.queue.addrs);
	return ret;
}

/* The leaders of the tasks on the run queues. */
static int runqueue_view(struct views *v)
{
	struct kh_addr_list tasks = { 0 };
	struct kh_read *reads = NULL;
	uint64_t *leader = NULL;
	unsigned int i;
	int ret;

	ret = kh_check_runqueue_tasks(v->cx, &tasks, &v->cpus,
				      &v->bad_runqueues);
	if (ret == -ENOENT) {
		v->bad_runqueues = 1;
		ret = 0;
	}
	if (ret || !tasks.nr)
		goto out;
	reads = calloc(tasks.nr, sizeof(*reads));
	leader = calloc(tasks.nr, sizeof(*leader));
	if (!reads || !leader) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < tasks.nr; i++)
		reads[i] = (struct kh_read){
			.addr = tasks.addrs[i] + v->off[TASK_GROUP_LEADER],
			.buf = &leader[i], .len = 8 };
	ret = kh_kva_fetch(v->cx->vm, reads, tasks.nr, NULL);
	if (ret < 0)
		goto out;
	v->bad_runqueues |= ret > 0;
	ret = 0;
	for (i = 0; !ret && i < tasks.nr; i++)
		if (leader[i] && kh_kernel_ptr_aligned(v->cx->vm, leader[i], 8))
			ret = saw(v, leader[i], 0, VIEW_RUNQUEUE);
out:
	free(tasks.addrs);
	free(reads);
	free(leader);
	return ret;
}

/* What the finding needs to know of a task, read fresh. */
struct task_view {
	uint64_t leader, first;
	uint32_t exit_state;
	int32_t tgid;
	char comm[16];
};

static int read_task(struct kh_check_ctx *cx, const uint32_t *off,
		     const struct seen *s, struct task_view *t)
{
	struct kh_read r[5] = {
		{ .addr = s->task + off[TASK_GROUP_LEADER], .buf = &t->leader,
		  .len = 8 },
		{ .addr = s->task + off[TASK_EXIT_STATE], .buf = &t->exit_state,
		  .len = 4 },
		{ .addr = s->task + off[TASK_COMM], .buf = t->comm,
		  .len = sizeof(t->comm) },
		{ .addr = s->task + off[TASK_TGID], .buf = &t->tgid, .len = 4 },
		{ .addr = s->pid + off[PID_TASKS], .buf = &t->first, .len = 8 },
	};
	int ret;

	memset(t, 0, sizeof(*t));
	ret = kh_kva_fetch_fresh(cx->vm, r, s->pid ? 5 : 4, cx->err);
	if (ret < 0)
		return ret;
	t->comm[sizeof(t->comm) - 1] = 0;
	return ret ? -EIO : 0;
}

static int add_tasks(struct kh_addr_set *set, const struct kh_task_list *tasks)
{
	unsigned int i;

	for (i = 0; i < tasks->nr; i++)
		if (kh_addr_set_add(set, tasks->tasks[i].addr) < 0)
			return -ENOMEM;
	return 0;
}

/* "the pid IDR, its parent's children and a run queue" */
static void views_text(unsigned int views, char *buf, size_t size)
{
	static const char *const names[] = {
		"the pid IDR", "its parent's children", "a run queue",
	};
	const char *parts[3];
	unsigned int i, n = 0;

	for (i = 0; i < 3; i++)
		if (views & (1u << i))
			parts[n++] = names[i];
	if (n == 1)
		snprintf(buf, size, "%s", parts[0]);
	else if (n == 2)
		snprintf(buf, size, "%s and %s", parts[0], parts[1]);
	else
		snprintf(buf, size, "%s, %s and %s", parts[0], parts[1],
			 parts[2]);
}

/*
 * Leaders not on the list: a live one still missing on a fresh walk
 * (whose tasks join on_list) is hidden.
 */
static int report_hidden(struct views *v, struct kh_addr_set *on_list)
{
	struct kh_check_ctx *cx = v->cx;
	struct kh_task_list *again = NULL;
	unsigned int i;
	int ret = 0;

	for (i = 0; i < v->nr && !ret; i++) {
		const struct seen *s = &v->seen[i];
		struct kh_finding f;
		struct task_view t;
		char in[96];

		if (kh_addr_set_find(on_list, s->task) >= 0)
			continue;
		ret = read_task(cx, v->off, s, &t);
		if (ret < 0 && ret != -EIO)
			break;
		if (ret) {
			v->bad_idr |= !!(s->views & VIEW_IDR);
			v->bad_children |= !!(s->views & VIEW_CHILDREN);
			v->bad_runqueues |= !!(s->views & VIEW_RUNQUEUE);
			ret = 0;
			continue;
		}
		/*
		 * Threads are not on the list; a task leaves it only once it
		 * has exited (exit_state set: PF_EXITING alone is no reason,
		 * and a rootkit could set it).
		 */
		if (t.leader != s->task || t.exit_state || t.tgid <= 0 ||
		    (s->pid && t.first != s->task + v->off[TASK_PID_LINKS]))
			continue;
		if (!again) {
			kh_vm_fresh(cx->vm);
			ret = kh_tasks(cx->vm, 0, &again, cx->err);
			if (ret)
				return ret;
			/* A walk cut short proves nothing missing. */
			if (again->result.flags & KH_RESULT_INCOMPLETE) {
				kh_check_problem(cx, KH_CHECK_HIDDEN_PROCESSES, 1,
						 "the task list could not be walked whole: %s",
						 again->result.problem);
				break;
			}
			ret = add_tasks(on_list, again);
			if (ret)
				break;
		}
		if (kh_addr_set_find(on_list, s->task) >= 0)
			continue;
		f = (struct kh_finding){ .addr = s->task };
		f.pid = t.tgid;
		memcpy(f.comm, t.comm, sizeof(f.comm));
		views_text(s->views, in, sizeof(in));
		snprintf(f.what, sizeof(f.what),
			 "process %d (%s) is not on the task list but in %s",
			 t.tgid, t.comm, in);
		snprintf(f.expected, sizeof(f.expected),
			 "on the task list (for_each_process), as every process is");
		ret = kh_check_found(cx, KH_CHECK_HIDDEN_PROCESSES, &f);
	}
	kh_task_list_free(again);
	return ret;
}

/* What a view could not read: the check ran, and may have missed some. */
static void view_problems(struct views *v)
{
	char what[128] = "";
	size_t len = 0;

	if (v->bad_idr)
		len += snprintf(what + len, sizeof(what) - len, "%sthe pid IDR",
				len ? ", " : "");
	if (v->bad_children && len < sizeof(what))
		len += snprintf(what + len, sizeof(what) - len,
				"%sthe children lists", len ? ", " : "");
	if (v->bad_runqueues && len < sizeof(what))
		len += snprintf(what + len, sizeof(what) - len,
				"%sthe run queues", len ? ", " : "");
	if (len)
		kh_check_problem(v->cx, KH_CHECK_HIDDEN_PROCESSES, 1,
				 "parts of %s could not be read or made no sense",
				 what);
}

int kh_check_hidden_processes(struct kh_check_ctx *cx)
{
	struct views v = { .cx = cx };
	struct kh_addr_set on_list = { 0 };
	const struct kh_task_list *list;
	uint64_t ns, head;
	int ret;

	if (kh_offsets(cx->vm, fields, NR_FIELDS, &v.off, NULL) ||
	    kh_sym_va(cx->vm, "init_pid_ns", &ns, NULL))
		return kh_check_problem(cx, KH_CHECK_HIDDEN_PROCESSES, 0,
					"this kernel has no pid IDR keyhole knows (init_pid_ns.idr)");
	/* The list before the views: what forks in between is looked for again. */
	ret = kh_check_processes(cx, &list);
	if (ret)
		return ret > 0 ? 0 : ret;
	ret = kh_kva_u64(cx->vm, ns + v.off[NS_XA_HEAD], &head);
	if (ret == -ESRCH)
		return kh_err_set(cx->err, ESRCH, "the VM is gone");
	if (ret)
		return kh_check_problem(cx, KH_CHECK_HIDDEN_PROCESSES, 0,
					"init_pid_ns cannot be read");
	ret = idr_view(&v, head);
	if (!ret)
		ret = children_view(&v);
	if (!ret)
		ret = runqueue_view(&v);
	if (!ret)
		ret = add_tasks(&on_list, list);
	if (!ret) {
		cx->report->checks[KH_CHECK_HIDDEN_PROCESSES].examined = v.nr;
		ret = report_hidden(&v, &on_list);
	}
	if (ret == -ENOMEM)
		ret = kh_err_set(cx->err, ENOMEM, "out of memory for pids");
	if (ret < 0)
		ret = kh_check_fatal_err(cx, ret);
	if (!ret)
		view_problems(&v);
	kh_addr_set_free(&on_list);
	kh_addr_set_free(&v.index);
	free(v.seen);
	return ret;
}
