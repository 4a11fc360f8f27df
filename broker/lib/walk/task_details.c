// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What ps -ef shows beyond the task list (KH_TASKS_DETAILS): each task's
 * effective ids, its CPU time and its controlling terminal. tasks.c hands
 * over the cred and signal_struct pointers its walk read, so this costs
 * two batches for all tasks: the values, then the names of the terminals
 * they found (each terminal read once, however many tasks share it).
 *
 * CPU time is what /proc/PID/stat's utime + stime add up to: the
 * scheduler's sum_exec_runtime, which cputime_adjust() only splits into
 * user and system time in proportion to the ticks it sampled. A
 * process's is its thread group's, as thread_group_cputime() sums it:
 * the threads that exited (signal->sum_sched_runtime) and every live
 * one. The time a thread has run since the scheduler last updated it is
 * missing (the guest's clock holds it, not its memory): under a tick.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "walk/task_details.h"

enum {
	TASK_RUNTIME, CRED_EUID, CRED_EGID, SIGNAL_TTY, SIGNAL_RUNTIME,
	TTY_NAME, NR_DETAIL_FIELDS
};

static const struct kh_field detail_fields[NR_DETAIL_FIELDS] = {
	[TASK_RUNTIME] = { "task_struct", "se.sum_exec_runtime" },
	[CRED_EUID] = { "cred", "euid" },
	[CRED_EGID] = { "cred", "egid" },
	[SIGNAL_TTY] = { "signal_struct", "tty" },
	[SIGNAL_RUNTIME] = { "signal_struct", "sum_sched_runtime" },
	[TTY_NAME] = { "tty_struct", "name" },
};

/* tty_struct.name is char[64]; ps's names are far shorter. */
#define TTY_NAME_LEN	64

struct details {
	uint64_t *runtime;	/* each task's own sum_exec_runtime */
	uint64_t *exited;	/* its signal's sum_sched_runtime (leaders) */
	uint64_t *tty;		/* its signal's tty_struct, or 0 */
};

/*
 * A terminal's name as ps prints it: a pseudo-terminal's driver is
 * called "pts", its lines "pts0", "pts1", and ps says "pts/0".
 */
static void tty_name(const char *raw, char *out)
{
	size_t n = strnlen(raw, TTY_NAME_LEN);
	size_t digits = n > 3 ? strspn(raw + 3, "0123456789") : 0;

	if (!memcmp(raw, "pts", n < 3 ? n : 3) && digits && 3 + digits == n)
		snprintf(out, KH_TTY_LEN, "pts/%.*s", (int)digits, raw + 3);
	else
		snprintf(out, KH_TTY_LEN, "%.*s", (int)n, raw);
}

static uint64_t add_saturated(uint64_t a, uint64_t b)
{
	uint64_t sum;

	return __builtin_add_overflow(a, b, &sum) ? UINT64_MAX : sum;
}

/* Batch 1: each task's runtime and effective ids, its signal's tty. */
static int read_values(struct kh_vm *vm, struct kh_task_list *list,
		       const struct kh_task_sources *src, const uint32_t *off,
		       struct details *d, struct kh_err *err)
{
	unsigned int nr = list->nr, i, n = 0, failed = 0, flux = 0;
	struct kh_read *reads = calloc((size_t)nr * 5, sizeof(*reads));
	unsigned int *owner = calloc((size_t)nr * 5, sizeof(*owner));
	int ret;

	if (!reads || !owner) {
		free(reads);
		free(owner);
		return kh_err_set(err, ENOMEM, "out of memory for %u tasks", nr);
	}
	for (i = 0; i < nr; i++) {
		struct kh_task *t = &list->tasks[i];

		owner[n] = i;
		reads[n++] = (struct kh_read){ .addr = t->addr + off[TASK_RUNTIME],
					       .buf = &d->runtime[i], .len = 8 };
		owner[n] = i;
		reads[n++] = (struct kh_read){ .addr = src->cred[i] + off[CRED_EUID],
					       .buf = &t->euid, .len = 4 };
		owner[n] = i;
		reads[n++] = (struct kh_read){ .addr = src->cred[i] + off[CRED_EGID],
					       .buf = &t->egid, .len = 4 };
		if (src->leader[i] != i)
			continue;	/* a thread shares its leader's signal */
		owner[n] = i;
		reads[n++] = (struct kh_read){ .addr = src->signal[i] + off[SIGNAL_TTY],
					       .buf = &d->tty[i], .len = 8 };
		owner[n] = i;
		reads[n++] = (struct kh_read){
			.addr = src->signal[i] + off[SIGNAL_RUNTIME],
			.buf = &d->exited[i], .len = 8 };
	}
	ret = kh_kva_fetch(vm, reads, n, err);
	for (i = 0; ret > 0 && i < n; i++) {
		unsigned int k = owner[i];

		if (!reads[i].result)
			continue;
		if (kh_task_in_flux(&list->tasks[k], src->parent[k],
				    src->cred[k], src->signal[k]))
			flux++;
		else
			failed++;
	}
	free(reads);
	free(owner);
	if (failed)
		kh_mark(&list->result, KH_RESULT_INCOMPLETE,
			"%u reads of CPU times, effective ids or terminals failed",
			failed);
	if (flux)
		kh_mark(&list->result, KH_RESULT_INCONSISTENT,
			"%u reads of CPU times, effective ids or terminals of tasks that were exiting failed: those fields were going during the walk",
			flux);
	return ret < 0 ? ret : 0;
}

/* Batch 2: the name of each terminal, once per tty_struct. */
static int read_ttys(struct kh_vm *vm, struct kh_task_list *list,
		     const struct kh_task_sources *src, const uint32_t *off,
		     const struct details *d, struct kh_err *err)
{
	struct kh_addr_set seen = { 0 };
	unsigned int nr = list->nr, i, n = 0;
	struct kh_read *reads = calloc(nr, sizeof(*reads));
	char (*names)[TTY_NAME_LEN] = calloc(nr, TTY_NAME_LEN);
	int *slot = calloc(nr, sizeof(*slot));
	int ret = 0;

	if (!reads || !names || !slot) {
		ret = kh_err_set(err, ENOMEM, "out of memory for %u tasks", nr);
		goto out;
	}
	for (i = 0; i < nr && !ret; i++) {
		uint64_t tty = d->tty[src->leader[i]];
		int idx;

		slot[i] = -1;
		if (!tty)
			continue;
		if (!kh_kernel_ptr_aligned(vm, tty, 8)) {
			kh_mark(&list->result, KH_RESULT_INCONSISTENT,
				"task %d: its terminal pointer 0x%" PRIx64 " is not a kernel address",
				list->tasks[i].pid, tty);
			snprintf(list->tasks[i].tty, KH_TTY_LEN, "?");
			continue;
		}
		idx = kh_addr_set_find(&seen, tty);
		if (idx < 0) {
			idx = n;
			if (kh_addr_set_put(&seen, tty, n) < 0) {
				ret = kh_err_set(err, ENOMEM, "out of memory");
				break;
			}
			reads[n] = (struct kh_read){ .addr = tty + off[TTY_NAME],
						     .buf = names[n],
						     .len = TTY_NAME_LEN - 1 };
			n++;
		}
		slot[i] = idx;
	}
	if (!ret && n)
		ret = kh_kva_fetch(vm, reads, n, err);
	if (ret > 0) {
		kh_mark(&list->result, KH_RESULT_INCOMPLETE,
			"%d terminal names could not be read", ret);
		ret = 0;
	}
	for (i = 0; !ret && i < nr; i++) {
		if (slot[i] < 0)
			continue;
		if (reads[slot[i]].result)
			snprintf(list->tasks[i].tty, KH_TTY_LEN, "?");
		else
			tty_name(names[slot[i]], list->tasks[i].tty);
	}
out:
	kh_addr_set_free(&seen);
	free(reads);
	free(names);
	free(slot);
	return ret < 0 ? ret : 0;
}

int kh_task_details(struct kh_vm *vm, struct kh_task_list *list,
		    const struct kh_task_sources *src, int processes,
		    struct kh_err *err)
{
	struct details d = { 0 };
	const uint32_t *off;
	unsigned int i;
	int ret;

	ret = kh_offsets(vm, detail_fields, NR_DETAIL_FIELDS, &off, err);
	if (ret)
		return kh_err_prefix(err, "ps details");
	d.runtime = calloc(list->nr + 1, sizeof(*d.runtime));
	d.exited = calloc(list->nr + 1, sizeof(*d.exited));
	d.tty = calloc(list->nr + 1, sizeof(*d.tty));
	if (!d.runtime || !d.exited || !d.tty) {
		ret = kh_err_set(err, ENOMEM, "out of memory for %u tasks",
				 list->nr);
		goto out;
	}
	ret = read_values(vm, list, src, off, &d, err);
	if (!ret)
		ret = read_ttys(vm, list, src, off, &d, err);
	if (ret)
		goto out;
	for (i = 0; i < list->nr; i++)
		list->tasks[i].cpu_time = d.runtime[i];
	if (!processes)
		goto out;
	/* A leader's time becomes its group's: the dead, then the living. */
	for (i = 0; i < list->nr; i++)
		if (src->leader[i] == i)
			list->tasks[i].cpu_time =
				add_saturated(d.exited[i], d.runtime[i]);
	for (i = 0; i < list->nr; i++) {
		struct kh_task *leader = &list->tasks[src->leader[i]];

		if (src->leader[i] != i)
			leader->cpu_time = add_saturated(leader->cpu_time,
							 d.runtime[i]);
	}
out:
	free(d.runtime);
	free(d.exited);
	free(d.tty);
	return ret;
}

/* ps shows this much of argv; the kernel's own page of it, at most. */
#define ARGV_MAX	4096

static int by_tgid(const void *a, const void *b, void *tasks)
{
	const struct kh_task *t = tasks;
	int32_t x = t[*(const unsigned int *)a].tgid;
	int32_t y = t[*(const unsigned int *)b].tgid;

	return (x > y) - (x < y);
}

/* The index of tgid's leader among leaders (sorted by_tgid), or -1. */
static int find_leader(const struct kh_task *tasks, const unsigned int *leaders,
		       unsigned int nr, int32_t tgid)
{
	unsigned int lo = 0, hi = nr;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;
		int32_t v = tasks[leaders[mid]].tgid;

		if (v == tgid)
			return leaders[mid];
		if (v < tgid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* The arena the argv go in, grown as they come (never for garbage). */
struct arena {
	char *buf;
	size_t used, cap;
};

static int arena_add(struct arena *a, const char *bytes, size_t len)
{
	if (len > a->cap - a->used) {
		size_t cap = a->cap ? a->cap : 64 * 1024;
		char *buf;

		while (cap - a->used < len)
			cap *= 2;
		buf = realloc(a->buf, cap);
		if (!buf)
			return -ENOMEM;
		a->buf = buf;
		a->cap = cap;
	}
	memcpy(a->buf + a->used, bytes, len);
	a->used += len;
	return 0;
}

/*
 * Reads process i's argv onto the end of the arena: 1 when it has one,
 * 0 when not (none, or unreadable: marked), or -errno (fatal).
 */
static int read_argv(struct kh_vm *vm, struct kh_task_list *list,
		     unsigned int i, struct arena *arena, size_t *offset,
		     struct kh_err *err)
{
	struct kh_task *t = &list->tasks[i];
	struct kh_err why = { 0 };
	char argv[ARGV_MAX];
	size_t len = 0;
	int ret;

	ret = kh_task_cmdline(vm, t, argv, sizeof(argv), &len, &why);
	if (ret == -ESRCH || ret == -ENOMEM)
		return kh_err_set(err, -ret, "%s", why.msg);
	/* A kernel thread or a zombie, as /proc shows it: no argv. */
	if (ret == -ENOENT && !t->mm)
		return 0;
	if (ret) {
		kh_mark(&list->result, KH_RESULT_INCONSISTENT,
			"argv of process %d (it may have exited or exec'd since the walk): %s",
			t->pid, why.msg);
		return 0;
	}
	*offset = arena->used;
	t->cmdline_len = len;
	if (arena_add(arena, argv, len))
		return kh_err_set(err, ENOMEM, "out of memory for command lines");
	return 1;
}

int kh_task_cmdlines(struct kh_vm *vm, struct kh_task_list *list,
		     struct kh_err *err)
{
	unsigned int nr = list->nr, nr_leaders = 0, i;
	const struct kh_task **wanted = calloc(nr + 1, sizeof(*wanted));
	unsigned int *leaders = calloc(nr + 1, sizeof(*leaders));
	size_t *offset = calloc(nr + 1, sizeof(*offset));
	uint8_t *has = calloc(nr + 1, 1);
	struct arena arena = { 0 };
	int ret = 0, leader;

	if (!wanted || !leaders || !offset || !has) {
		ret = kh_err_set(err, ENOMEM, "out of memory for %u tasks", nr);
		goto out;
	}
	for (i = 0; i < nr; i++)
		if (list->tasks[i].pid == list->tasks[i].tgid) {
			wanted[nr_leaders] = &list->tasks[i];
			leaders[nr_leaders++] = i;
		}
	/*
	 * Each check that a task still has its mm against the guest of now
	 * (one read); each level of every page-table walk in one batch, only
	 * a hint.
	 */
	if (kh_task_mms_refresh(vm, wanted, nr_leaders) == -ESRCH ||
	    kh_cmdline_prefetch(vm, wanted, nr_leaders) == -ESRCH) {
		ret = kh_err_set(err, ESRCH, "QEMU process %d exited while being read",
				 (int)vm->target.pid);
		goto out;
	}
	for (i = 0; i < nr_leaders; i++) {
		ret = read_argv(vm, list, leaders[i], &arena,
				&offset[leaders[i]], err);
		if (ret < 0)
			goto out;
		has[leaders[i]] = ret;
	}
	ret = 0;
	free(list->arena);
	list->arena = arena.buf;
	arena.buf = NULL;
	/* The arena is whole: point each task at its process's argv. */
	qsort_r(leaders, nr_leaders, sizeof(*leaders), by_tgid, list->tasks);
	for (i = 0; i < nr; i++) {
		struct kh_task *t = &list->tasks[i];

		leader = find_leader(list->tasks, leaders, nr_leaders, t->tgid);
		if (leader < 0 || !has[leader]) {
			t->cmdline = NULL;
			t->cmdline_len = 0;
			continue;
		}
		/* An argv of no bytes has an arena of none: still argv. */
		t->cmdline = list->arena ? list->arena + offset[leader] : "";
		t->cmdline_len = list->tasks[leader].cmdline_len;
	}
out:
	free(arena.buf);
	free(wanted);
	free(leaders);
	free(offset);
	free(has);
	return ret;
}
