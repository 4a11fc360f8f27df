// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Hidden processes (Volatility's psxview): a process the pid namespace
 * knows but the task list does not. Every pid in use is in the initial
 * pid namespace's IDR (an xarray, init_pid_ns.idr), and its struct pid
 * leads to its task (pid->tasks[PIDTYPE_PID]); a thread group leader
 * found there must also be on the task list that ps, /proc and keyhole
 * ps walk. A rootkit that unlinks a task from that list (list_del on
 * task->tasks) leaves it here, since removing its pid would break
 * signals, wait and /proc/PID.
 *
 * The task list was walked before the IDR was read here, and through a
 * batching technique the IDR's pages may be older still (the task walk
 * read them ahead, walk/tasks_ahead.c): a process forked or gone in
 * between could look hidden, so one that does is looked for again on a
 * fresh walk of the list, and is reported only if it is still missing
 * and still alive then (its pid still leads to it, it is not exiting).
 *
 * The xarray is untrusted: walk/xarray.c bounds it, and every entry is
 * checked before it is followed.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/check.h"
#include "kernel/page_cache.h"
#include "walk/xarray.h"

#define PF_EXITING_ 0x00000004
/* PID_MAX_LIMIT on 64-bit: no IDR holds more pids. */
#define MAX_PIDS (4 * 1024 * 1024)

enum {
	NS_XA_HEAD, PID_TASKS, PID_NUMBERS, UPID_NR,
	TASK_PID_LINKS, TASK_GROUP_LEADER, TASK_EXIT_STATE, TASK_FLAGS,
	TASK_COMM, TASK_TGID,
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
	[TASK_FLAGS] = { "task_struct", "flags" },
	[TASK_COMM] = { "task_struct", "comm" },
	[TASK_TGID] = { "task_struct", "tgid" },
};

/* A pid the IDR holds, and the task it leads to. */
struct idr_pid {
	uint64_t pid;		/* struct pid */
	uint64_t task;		/* its PIDTYPE_PID task, 0 for none */
	uint64_t leader;	/* that task's group_leader */
	int32_t nr;
};

struct idr_walk {
	struct kh_check_ctx *cx;
	const uint32_t *off;
	struct idr_pid *pids;
	unsigned int nr;
	int bad;		/* something was skipped */
};

/* The pids of the IDR, each a struct pid to read. */
static int collect(struct idr_walk *w, uint64_t head)
{
	struct kh_addr_list entries = { 0 };
	unsigned int i;
	int ret;

	ret = kh_xarray_collect(w->cx->vm, head, MAX_PIDS, &entries, &w->bad);
	if (!ret && entries.nr) {
		w->pids = calloc(entries.nr, sizeof(*w->pids));
		if (!w->pids)
			ret = -ENOMEM;
	}
	for (i = 0; !ret && i < entries.nr; i++)
		w->pids[w->nr++] = (struct idr_pid){ .pid = entries.addrs[i] };
	free(entries.addrs);
	return ret;
}

/* Each pid's number and task, then each task's leader: two batches. */
static int read_pids(struct idr_walk *w)
{
	const uint32_t *off = w->off;
	struct kh_read *reads = calloc((size_t)w->nr * 2 + 1, sizeof(*reads));
	uint64_t *first = calloc(w->nr + 1, sizeof(*first));
	unsigned int i, n;
	int ret;

	if (!reads || !first) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < w->nr; i++) {
		reads[2 * i] = (struct kh_read){
			.addr = w->pids[i].pid + off[PID_NUMBERS] +
				off[UPID_NR],
			.buf = &w->pids[i].nr, .len = 4 };
		/* tasks[PIDTYPE_PID], the first of the array. */
		reads[2 * i + 1] = (struct kh_read){
			.addr = w->pids[i].pid + off[PID_TASKS],
			.buf = &first[i], .len = 8 };
	}
	ret = kh_kva_fetch(w->cx->vm, reads, w->nr * 2, NULL);
	if (ret < 0)
		goto out;
	ret = 0;
	for (i = 0; i < w->nr; i++) {
		if (reads[2 * i].result || reads[2 * i + 1].result ||
		    (first[i] && (!kh_kernel_ptr_aligned(w->cx->vm, first[i], 8) ||
				  first[i] < off[TASK_PID_LINKS]))) {
			w->bad = 1;
			continue;
		}
		/* No task: a pid allocated for a fork not yet done, or freed. */
		if (first[i])
			w->pids[i].task = first[i] - off[TASK_PID_LINKS];
	}
	/* Threads are not on the task list: only leaders are compared. */
	for (i = 0, n = 0; i < w->nr; i++)
		if (w->pids[i].task)
			reads[n++] = (struct kh_read){
				.addr = w->pids[i].task + off[TASK_GROUP_LEADER],
				.buf = &w->pids[i].leader, .len = 8 };
	ret = n ? kh_kva_fetch(w->cx->vm, reads, n, NULL) : 0;
	if (ret < 0)
		goto out;
	/* An unread leader stays 0: that pid is not compared. */
	w->bad |= ret > 0;
	ret = 0;
out:
	free(reads);
	free(first);
	return ret;
}

/* What the finding needs to know of a task, read fresh. */
struct task_view {
	uint64_t leader, first;
	uint32_t exit_state, flags;
	int32_t tgid;
	char comm[16];
};

static int read_task(struct kh_check_ctx *cx, const uint32_t *off,
		     const struct idr_pid *p, struct task_view *t)
{
	struct kh_read r[6] = {
		{ .addr = p->task + off[TASK_GROUP_LEADER], .buf = &t->leader,
		  .len = 8 },
		{ .addr = p->task + off[TASK_EXIT_STATE], .buf = &t->exit_state,
		  .len = 4 },
		{ .addr = p->task + off[TASK_FLAGS], .buf = &t->flags,
		  .len = 4 },
		{ .addr = p->task + off[TASK_COMM], .buf = t->comm,
		  .len = sizeof(t->comm) },
		{ .addr = p->task + off[TASK_TGID], .buf = &t->tgid, .len = 4 },
		{ .addr = p->pid + off[PID_TASKS], .buf = &t->first, .len = 8 },
	};
	int ret;

	memset(t, 0, sizeof(*t));
	ret = kh_kva_fetch_fresh(cx->vm, r, 6, cx->err);
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

/*
 * Leaders not on the list: a live one still missing on a fresh walk
 * (whose tasks join on_list) is hidden.
 */
static int report_hidden(struct idr_walk *w, struct kh_addr_set *on_list)
{
	struct kh_check_ctx *cx = w->cx;
	struct kh_task_list *again = NULL;
	unsigned int i;
	int ret = 0;

	for (i = 0; i < w->nr && !ret; i++) {
		const struct idr_pid *p = &w->pids[i];
		struct kh_finding f = { .addr = p->task };
		struct task_view t;

		if (!p->task || p->leader != p->task ||
		    kh_addr_set_find(on_list, p->task) >= 0)
			continue;
		ret = read_task(cx, w->off, p, &t);
		if (ret == -ESRCH)
			break;
		if (ret) {
			w->bad = 1;
			ret = 0;
			continue;
		}
		/* Threads are not on the list; exiting tasks leave it. */
		if (t.leader != p->task || t.exit_state ||
		    (t.flags & PF_EXITING_) ||
		    t.first != p->task + w->off[TASK_PID_LINKS])
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
		if (kh_addr_set_find(on_list, p->task) >= 0)
			continue;
		f.pid = t.tgid;
		memcpy(f.comm, t.comm, sizeof(f.comm));
		snprintf(f.what, sizeof(f.what),
			 "process %d (%s) has a pid but is not on the task list",
			 t.tgid, t.comm);
		snprintf(f.expected, sizeof(f.expected),
			 "on the task list (for_each_process), as every process is");
		ret = kh_check_found(cx, KH_CHECK_HIDDEN_PROCESSES, &f);
	}
	kh_task_list_free(again);
	return ret;
}

int kh_check_hidden_processes(struct kh_check_ctx *cx)
{
	struct idr_walk w = { .cx = cx };
	struct kh_addr_set on_list = { 0 };
	uint64_t ns, head;
	int ret;

	if (kh_offsets(cx->vm, fields, NR_FIELDS, &w.off, NULL) ||
	    kh_sym_va(cx->vm, "init_pid_ns", &ns, NULL))
		return kh_check_problem(cx, KH_CHECK_HIDDEN_PROCESSES, 0,
					"this kernel has no pid IDR keyhole knows (init_pid_ns.idr)");
	ret = kh_kva_u64(cx->vm, ns + w.off[NS_XA_HEAD], &head);
	if (ret == -ESRCH)
		return kh_err_set(cx->err, ESRCH, "the VM is gone");
	if (ret)
		return kh_check_problem(cx, KH_CHECK_HIDDEN_PROCESSES, 0,
					"init_pid_ns cannot be read");
	ret = collect(&w, head);
	if (!ret)
		ret = read_pids(&w);
	if (!ret)
		ret = add_tasks(&on_list, cx->tasks);
	if (!ret) {
		cx->report->checks[KH_CHECK_HIDDEN_PROCESSES].examined = w.nr;
		ret = report_hidden(&w, &on_list);
	}
	if (ret == -ENOMEM)
		ret = kh_err_set(cx->err, ENOMEM, "out of memory for pids");
	if (!ret && w.bad)
		kh_check_problem(cx, KH_CHECK_HIDDEN_PROCESSES, 1,
				 "parts of the pid IDR could not be read or were not pids");
	kh_addr_set_free(&on_list);
	free(w.pids);
	return ret;
}
