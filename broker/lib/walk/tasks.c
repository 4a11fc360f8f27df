// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The task list: init_task.tasks links every thread-group leader; each
 * leader's signal->thread_head links its threads through thread_node.
 *
 * The guest runs while we walk, and may be hostile, so:
 * - the walk is bounded by how many task_structs the guest's RAM can hold;
 * - every task address is remembered, so a cycle is caught the first time
 *   it closes, and every next pointer must be a kernel address that
 *   translates to RAM;
 * - next->prev must point back at us: a mismatch means the list changed
 *   under us (or was corrupted) and the result is marked inconsistent;
 * - a walk that falls off the list (a task freed under us) is retried
 *   from the start a few times before the result is returned incomplete.
 * Per task one batch of reads covers every field the walk needs: with a
 * mapped technique only the clusters of them, not the ~3 KiB between the
 * first and the last (most of a crawl's bytes were that); parent tgids
 * and uids are then fetched in one batch for all tasks.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "walk/task_details.h"
#include "walk/tasks_ahead.h"
#include "walk/toolkit.h"

#define WALK_ATTEMPTS 3
/* Fields closer than this share a read: a read costs more than 64 bytes. */
#define PIECE_GAP	64
#define NR_FIELDS	13
#define PID_MAX_LIMIT (4 * 1024 * 1024)

/* Task state bits (include/linux/sched.h), stable since 4.14. */
#define TASK_REPORT		0x7f
#define TASK_IDLE		0x402
#define TASK_RTLOCK_WAIT	0x1000

struct walk {
	struct kh_vm *vm;
	const struct kh_task_layout *tl;
	unsigned int flags;
	unsigned int max_tasks;
	struct kh_task_list *list;
	unsigned int cap;
	uint64_t *parent;	/* real_parent of list->tasks[i] */
	uint64_t *cred;		/* real_cred of list->tasks[i] */
	uint64_t *signal;	/* signal of list->tasks[i] */
	unsigned int *leader;	/* index of list->tasks[i]'s group leader */
	int thread_of;		/* leader of the tasks added now, or -1 */
	struct kh_addr_set seen;	/* task address -> index in list */
	uint8_t *span;		/* one task's fields, at their offsets */
	/* The parts of the span read: clusters of the fields, in order. */
	struct kh_read piece[NR_FIELDS];
	unsigned int nr_pieces;
};

static int by_offset(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * The reads that fill w->span's fields: each field's 16 bytes (the most
 * the walk takes at one: list heads, comm), clusters merged.
 * kh_task_layout_valid() holds, so every field lies in the span.
 */
static void plan_pieces(struct walk *w)
{
	const struct kh_task_layout *tl = w->tl;
	uint32_t off[NR_FIELDS] = {
		tl->tasks, tl->pid, tl->tgid, tl->state, tl->exit_state,
		tl->real_parent, tl->real_cred, tl->comm, tl->signal,
		tl->thread_node, tl->flags, tl->mm, tl->start_boottime,
	};
	struct kh_read *last = NULL;
	unsigned int i;

	w->nr_pieces = 0;
	/*
	 * A technique with a system call per element (procmem, hmp) pays
	 * more for pieces than for bytes: one read of the whole span,
	 * unless the operation's page cache makes pieces of a page one read.
	 */
	if (!(w->vm->acc.ops->props & KH_TECHNIQUE_MAPPED) &&
	    !kh_page_cache_on(w->vm)) {
		w->piece[w->nr_pieces++] = (struct kh_read){
			.addr = 0, .len = tl->span_len };
		return;
	}
	qsort(off, NR_FIELDS, sizeof(off[0]), by_offset);
	for (i = 0; i < NR_FIELDS; i++) {
		uint32_t start = off[i] - tl->span_start, end = start + 16;

		if (last && start <= last->addr + last->len + PIECE_GAP) {
			if (end > last->addr + last->len)
				last->len = end - last->addr;
			continue;
		}
		last = &w->piece[w->nr_pieces++];
		last->addr = start;	/* in the span, until read_task_span */
		last->len = 16;
	}
}

static char task_state_letter(uint32_t state, uint32_t exit_state)
{
	static const char letters[] = "RSDTtXZPI";
	uint32_t report = (state | exit_state) & TASK_REPORT;
	unsigned int idx = 0;

	if ((state & TASK_IDLE) == TASK_IDLE)
		report = TASK_REPORT + 1;
	if (state == TASK_RTLOCK_WAIT)
		report = 2;
	while (report) {
		idx++;
		report >>= 1;
	}
	return idx < sizeof(letters) - 1 ? letters[idx] : '?';
}

static int grow(struct walk *w, struct kh_err *err)
{
	unsigned int cap = w->cap ? w->cap * 2 : 256;
	struct kh_task *tasks;
	uint64_t *parent, *cred, *signal;
	unsigned int *leader;

	tasks = realloc(w->list->tasks, sizeof(*tasks) * cap);
	if (tasks)
		w->list->tasks = tasks;
	parent = realloc(w->parent, sizeof(*parent) * cap);
	if (parent)
		w->parent = parent;
	cred = realloc(w->cred, sizeof(*cred) * cap);
	if (cred)
		w->cred = cred;
	signal = realloc(w->signal, sizeof(*signal) * cap);
	if (signal)
		w->signal = signal;
	leader = realloc(w->leader, sizeof(*leader) * cap);
	if (leader)
		w->leader = leader;
	if (!tasks || !parent || !cred || !signal || !leader)
		return kh_err_set(err, ENOMEM, "out of memory for %u tasks",
				  cap);
	w->cap = cap;
	return 0;
}

static uint64_t span_u64(const struct walk *w, uint32_t off)
{
	return kh_load_u64(w->span, off - w->tl->span_start);
}

static uint32_t span_u32(const struct walk *w, uint32_t off)
{
	return kh_load_u32(w->span, off - w->tl->span_start);
}

/*
 * Reads the task_struct fields keyhole lists (the span) at addr into
 * w->span: 1 when read, 0 when it cannot be (marked; the walk stops), or
 * -errno (fatal).
 */
/* fresh: past the crawl's page cache (a slot met again, to see if reused). */
static int read_task_span(struct walk *w, uint64_t addr, int fresh,
			  struct kh_err *err)
{
	const struct kh_task_layout *tl = w->tl;
	struct kh_read reads[NR_FIELDS];
	unsigned int i;
	int ret;

	for (i = 0; i < w->nr_pieces; i++) {
		reads[i] = w->piece[i];
		reads[i].buf = w->span + w->piece[i].addr;
		reads[i].addr = addr + tl->span_start + w->piece[i].addr;
	}
	ret = (fresh ? kh_kva_fetch_fresh : kh_kva_fetch)(w->vm, reads,
							 w->nr_pieces, err);
	if (ret == -ESRCH || ret == -ENOMEM)
		return ret;
	if (ret) {
		kh_mark(&w->list->result, KH_RESULT_INCOMPLETE,
		     "task_struct at 0x%" PRIx64 " cannot be read", addr);
		return 0;
	}
	return 1;
}

/*
 * Reads the task at addr and appends it. Returns 1 when it was added, 0
 * when the walk must stop (marked in the list), or -errno (fatal).
 */
static int add_task(struct walk *w, uint64_t addr, struct kh_err *err)
{
	const struct kh_task_layout *tl = w->tl;
	struct kh_task *task;
	int ret;

	if (w->list->nr >= w->max_tasks) {
		kh_mark(&w->list->result, KH_RESULT_INCOMPLETE,
		     "more tasks than guest RAM can hold; stopped at 0x%" PRIx64,
		     addr);
		return 0;
	}
	ret = read_task_span(w, addr, 0, err);
	if (ret <= 0)
		return ret;
	if (w->list->nr == w->cap) {
		ret = grow(w, err);
		if (ret)
			return ret;
	}
	task = &w->list->tasks[w->list->nr];
	memset(task, 0, sizeof(*task));
	task->addr = addr;
	task->pid = span_u32(w, tl->pid);
	task->tgid = span_u32(w, tl->tgid);
	task->exit_state = span_u32(w, tl->exit_state);
	task->state = task_state_letter(span_u32(w, tl->state),
					task->exit_state);
	task->flags = span_u32(w, tl->flags);
	task->mm = span_u64(w, tl->mm);
	task->start_time = span_u64(w, tl->start_boottime);
	memcpy(task->comm, w->span + tl->comm - tl->span_start,
	       KH_COMM_LEN - 1);
	w->parent[w->list->nr] = span_u64(w, tl->real_parent);
	w->cred[w->list->nr] = span_u64(w, tl->real_cred);
	w->signal[w->list->nr] = span_u64(w, tl->signal);
	w->leader[w->list->nr] = w->thread_of < 0 ? w->list->nr :
			       (unsigned int)w->thread_of;
	ret = kh_addr_set_put(&w->seen, addr, w->list->nr);
	if (ret < 0)
		return kh_err_set(err, ENOMEM, "out of memory for %u tasks",
				  w->list->nr);
	if (!ret)	/* a slot reused (seen_again()): find the newer task */
		kh_addr_set_move(&w->seen, addr, w->list->nr);
	w->list->nr++;
	return 1;
}

/*
 * The walk came to a task it has listed already, list->tasks[idx]. With
 * the same pid and start time there, the list loops: stop (0). With
 * another, the guest ran on while we walked, that task exited and the
 * kernel gave its task_struct to a new one, linked in further on: a
 * live walk slow enough (hmp, a loaded host) meets this often, and the
 * list does end. 1: the new task is to be listed, the result marked
 * inconsistent. A guest rewriting a true cycle to look new on each
 * pass is still stopped by max_tasks.
 */
static int seen_again(struct walk *w, uint64_t addr, int idx, const char *list,
		      struct kh_err *err)
{
	const struct kh_task_layout *tl = w->tl;
	const struct kh_task *old = &w->list->tasks[idx];
	int ret;

	ret = read_task_span(w, addr, 1, err);
	if (ret <= 0)
		return ret;
	if ((int32_t)span_u32(w, tl->pid) == old->pid &&
	    span_u64(w, tl->start_boottime) == old->start_time) {
		kh_mark(&w->list->result, KH_RESULT_INCOMPLETE,
		     "%s cycle: task 0x%" PRIx64 " seen twice", list, addr);
		return 0;
	}
	kh_mark(&w->list->result, KH_RESULT_INCONSISTENT,
	     "task 0x%" PRIx64 " was pid %d, then pid %d: it exited and its task_struct was reused during the walk",
	     addr, old->pid, (int32_t)span_u32(w, tl->pid));
	return 1;
}

/*
 * Checks a list_head next pointer read from the guest: sets *next to the
 * entry it leads to, or 0 at the list's head. 0 when the walk must stop.
 */
static int follow(struct walk *w, uint64_t node, uint64_t head,
		  uint32_t member, uint64_t *next)
{
	if (node == head) {
		*next = 0;
		return 1;
	}
	if (!kh_kernel_ptr_aligned(w->vm, node, 8) || node < member) {
		kh_mark(&w->list->result, KH_RESULT_INCOMPLETE,
		     "list pointer 0x%" PRIx64 " is not a kernel address", node);
		return 0;
	}
	*next = node - member;
	return 1;
}

/* Reads the list_head at node_addr and follows its next pointer. */
static int next_entry(struct walk *w, uint64_t node_addr, uint64_t head,
		      uint32_t member, uint64_t *next, struct kh_err *err)
{
	uint64_t node;
	int ret;

	ret = kh_kva_fetch_one(w->vm, node_addr, &node, sizeof(node), err);
	if (ret == -ESRCH || ret == -ENOMEM)
		return ret;
	if (ret) {
		kh_mark(&w->list->result, KH_RESULT_INCOMPLETE,
		     "list node at 0x%" PRIx64 " cannot be read", node_addr);
		return 0;
	}
	return follow(w, node, head, member, next);
}

/* Called right after add_task(leader): w->span still holds the leader. */
static int walk_threads(struct walk *w, uint64_t leader, struct kh_err *err)
{
	const struct kh_task_layout *tl = w->tl;
	uint64_t signal = span_u64(w, tl->signal);
	uint64_t leader_node = span_u64(w, tl->thread_node);
	uint64_t head, task;
	unsigned int steps = 0;
	int idx, ret;

	if (!kh_kernel_ptr_aligned(w->vm, signal, 8)) {
		kh_mark(&w->list->result, KH_RESULT_INCOMPLETE,
		     "task 0x%" PRIx64 " has no valid signal_struct", leader);
		return 0;
	}
	head = signal + tl->signal_thread_head;
	ret = next_entry(w, head, head, tl->thread_node, &task, err);
	while (ret > 0 && task) {
		if (++steps > w->max_tasks) {
			kh_mark(&w->list->result, KH_RESULT_INCOMPLETE,
			     "thread list of 0x%" PRIx64 " does not end", leader);
			return 0;
		}
		if (task == leader) {
			ret = follow(w, leader_node, head, tl->thread_node,
				     &task);
			continue;
		}
		idx = kh_addr_set_find(&w->seen, task);
		if (idx >= 0) {
			ret = seen_again(w, task, idx, "thread list", err);
			if (ret <= 0)
				return ret;
		}
		ret = add_task(w, task, err);
		if (ret > 0)
			ret = follow(w, span_u64(w, tl->thread_node), head,
				     tl->thread_node, &task);
	}
	return ret < 0 ? ret : 0;
}

/*
 * One task read per process: its span holds tasks.next (where to go) and
 * tasks.prev (which must point back at where we came from).
 */
static int walk_once(struct walk *w, uint64_t init_task, struct kh_err *err)
{
	const struct kh_task_layout *tl = w->tl;
	uint64_t head = init_task + tl->tasks, task = init_task, next;
	int idx, ret;

	ret = add_task(w, init_task, err);
	while (ret > 0) {
		uint64_t node = span_u64(w, tl->tasks);

		if (w->flags & KH_TASKS_THREADS) {
			/* The leader is the task added last. */
			w->thread_of = w->list->nr - 1;
			ret = walk_threads(w, task, err);
			w->thread_of = -1;
			if (ret < 0)
				return ret;
		}
		ret = follow(w, node, head, tl->tasks, &next);
		if (ret <= 0 || !next)
			break;
		idx = kh_addr_set_find(&w->seen, next);
		if (idx >= 0) {
			ret = seen_again(w, next, idx, "task list", err);
			if (ret <= 0)
				return ret;
		}
		ret = add_task(w, next, err);
		if (ret > 0 && span_u64(w, tl->tasks + 8) != task + tl->tasks)
			kh_mark(&w->list->result, KH_RESULT_INCONSISTENT,
			     "task 0x%" PRIx64 ": tasks.prev does not point back; the list changed during the walk",
			     next);
		task = next;
	}
	return ret < 0 ? ret : 0;
}

/* kh_task_in_flux() for list->tasks[i]. */
static int in_flux(const struct walk *w, unsigned int i)
{
	return kh_task_in_flux(&w->list->tasks[i], w->parent[i], w->cred[i],
			       w->signal[i]);
}

/* Parent tgids and uids for every task, in one batch. */
static int fill_parents_and_uids(struct walk *w, struct kh_err *err)
{
	unsigned int nr = w->list->nr, i, n = 0, failed = 0, flux = 0;
	struct kh_read *reads;
	unsigned int *owner;
	int32_t *ptgid;
	int ret;

	reads = calloc(nr * 4, sizeof(*reads));
	owner = calloc(nr * 4, sizeof(*owner));
	ptgid = calloc(nr, sizeof(*ptgid));
	if (!reads || !owner || !ptgid) {
		free(reads);
		free(owner);
		free(ptgid);
		return kh_err_set(err, ENOMEM, "out of memory for %u tasks", nr);
	}
	for (i = 0; i < nr; i++) {
		struct kh_task *task = &w->list->tasks[i];
		int idx = kh_addr_set_find(&w->seen, w->parent[i]);

		if (idx >= 0) {
			task->ppid = w->list->tasks[idx].tgid;
		} else {
			owner[n] = i;
			reads[n++] = (struct kh_read){
				.addr = w->parent[i] + w->tl->tgid,
				.buf = &ptgid[i], .len = 4 };
		}
		owner[n] = i;
		reads[n++] = (struct kh_read){
			.addr = w->cred[i] + w->tl->cred_uid,
			.buf = &task->uid, .len = 4 };
		owner[n] = i;
		reads[n++] = (struct kh_read){
			.addr = w->cred[i] + w->tl->cred_gid,
			.buf = &task->gid, .len = 4 };
		owner[n] = i;
		reads[n++] = (struct kh_read){
			.addr = w->signal[i] + w->tl->signal_nr_threads,
			.buf = &task->nr_threads, .len = 4 };
	}
	ret = kh_kva_fetch(w->vm, reads, n, err);
	for (i = 0; ret > 0 && i < n; i++) {
		if (!reads[i].result)
			continue;
		if (in_flux(w, owner[i]))
			flux++;
		else
			failed++;
	}
	if (failed)
		kh_mark(&w->list->result, KH_RESULT_INCOMPLETE,
		     "%u parent or credential reads failed", failed);
	if (flux)
		kh_mark(&w->list->result, KH_RESULT_INCONSISTENT,
		     "%u parent or credential reads of tasks that were exiting or being set up failed: those fields were changing during the walk",
		     flux);
	for (i = 0; i < nr; i++)
		if (kh_addr_set_find(&w->seen, w->parent[i]) < 0)
			w->list->tasks[i].ppid = ptgid[i];
	free(reads);
	free(owner);
	free(ptgid);
	return ret < 0 ? ret : 0;
}

/* Cuts a list walked with threads to its processes (threads not asked). */
static void keep_leaders(struct walk *w)
{
	unsigned int i, n = 0;

	if (!(w->flags & KH_TASKS_THREADS))
		return;
	for (i = 0; i < w->list->nr; i++)
		if (w->leader[i] == i)
			w->list->tasks[n++] = w->list->tasks[i];
	w->list->nr = n;
}

static void walk_reset(struct walk *w)
{
	w->list->nr = 0;
	memset(&w->list->result, 0, sizeof(w->list->result));
	kh_addr_set_clear(&w->seen);
}

/*
 * An agent technique (class I) lists processes from the guest's own /proc:
 * no walk, no threads. Its tasks op returns 1 when the list is real but
 * not whole (a process vanished mid-listing, or a name it could not parse).
 */
static int tasks_from_technique(struct kh_vm *vm, unsigned int flags,
				struct kh_task_list **listp,
				struct kh_err *err)
{
	struct kh_task_list *list;
	struct kh_task *tasks;
	size_t nr;
	int ret;

	list = calloc(1, sizeof(*list));
	if (!list)
		return kh_err_set(err, ENOMEM, "out of memory for a task list");
	ret = vm->acc.ops->tasks(&vm->acc, &tasks, &nr, err);
	if (ret < 0) {
		free(list);
		return ret;
	}
	if (nr > UINT32_MAX) {
		free(tasks);
		free(list);
		return kh_err_set(err, E2BIG, "%zu tasks", nr);
	}
	list->tasks = tasks;
	list->nr = nr;
	/* /proc/PID/cmdline cannot be told apart when cat joins them. */
	list->flags = flags & ~KH_TASKS_CMDLINE;
	if (ret > 0)
		kh_mark(&list->result, KH_RESULT_INCOMPLETE,
			"the %s technique could not read every process",
			vm->acc.ops->name);
	else if (flags & KH_TASKS_THREADS)
		kh_mark(&list->result, KH_RESULT_INCOMPLETE,
			"the %s technique lists processes, not threads",
			vm->acc.ops->name);

	*listp = list;
	return 0;
}

/* When the guest booted by its clock: start times as wall-clock times. */
static void boot_time(struct kh_vm *vm, struct kh_task_list *list)
{
	struct kh_os_info os;
	struct kh_err why = { 0 };

	if (kh_os_info(vm, &os, &why))
		kh_mark(&list->result, KH_RESULT_INCOMPLETE,
			"boot time unknown: %s", why.msg);
	else if (!os.boot_time)
		kh_mark(&list->result, KH_RESULT_INCOMPLETE,
			"boot time unknown: %s", os.result.problem[0] ?
			os.result.problem :
			"the guest's clock puts its boot before 1970");
	else
		list->boot_time = os.boot_time;
}

static int walk_tasks(struct kh_vm *vm, unsigned int flags,
		      struct kh_task_list **listp, struct kh_err *err)
{
	struct walk w = { .vm = vm, .flags = flags, .thread_of = -1 };
	uint64_t ram;
	int64_t init_task;
	int attempt, ret;

	w.tl = &vm->profile->task;
	/* A process's CPU time is its threads': they are walked, then cut. */
	if (flags & KH_TASKS_DETAILS)
		w.flags |= KH_TASKS_THREADS;
	ram = kh_layout_ram_size(&vm->layout);
	ret = kh_profile_sym(vm->profile, "init_task", &init_task, err);
	if (ret)
		return ret;
	w.max_tasks = ram / (w.tl->task_size ? w.tl->task_size : 1);
	if (w.max_tasks > PID_MAX_LIMIT)
		w.max_tasks = PID_MAX_LIMIT;
	w.list = calloc(1, sizeof(*w.list));
	w.span = calloc(1, w.tl->span_len);
	plan_pieces(&w);
	if (!w.list || !w.span) {
		ret = kh_err_set(err, ENOMEM, "out of memory for a task walk");
		goto out;
	}
	ret = grow(&w, err);
	for (attempt = 0; !ret && attempt < WALK_ATTEMPTS; attempt++) {
		walk_reset(&w);
		if (attempt)
			kh_vm_fresh(vm);
		kh_tasks_read_ahead(vm, w.tl, w.piece, w.nr_pieces,
				    w.max_tasks, w.flags & KH_TASKS_THREADS);
		ret = walk_once(&w, vm->kernel.text_va + init_task, err);
		if (!(w.list->result.flags & KH_RESULT_INCOMPLETE))
			break;
	}
	if (!ret)
		ret = fill_parents_and_uids(&w, err);
	if (!ret && (flags & KH_TASKS_DETAILS))
		ret = kh_task_details(vm, w.list, &(struct kh_task_sources){
					.parent = w.parent, .cred = w.cred,
					.signal = w.signal, .leader = w.leader },
				      !(flags & KH_TASKS_THREADS), err);
	if (!ret)
		ret = kh_vm_verify(vm, err);
	if (!ret && !(flags & KH_TASKS_THREADS))
		keep_leaders(&w);
	if (!ret && w.list->nr) {
		/* pid 0 is the idle task, which /proc does not list either. */
		w.list->nr--;
		memmove(w.list->tasks, w.list->tasks + 1,
			sizeof(*w.list->tasks) * w.list->nr);
	}
	if (!ret && (flags & KH_TASKS_CMDLINE))
		ret = kh_task_cmdlines(vm, w.list, err);
	if (!ret && (flags & KH_TASKS_DETAILS))
		boot_time(vm, w.list);
out:
	free(w.parent);
	free(w.cred);
	free(w.signal);
	free(w.leader);
	kh_addr_set_free(&w.seen);
	free(w.span);
	if (ret) {
		kh_task_list_free(w.list);
		return ret;
	}
	w.list->flags = flags;
	*listp = w.list;
	return 0;
}

int kh_tasks(struct kh_vm *vm, unsigned int flags, struct kh_task_list **listp,
	     struct kh_err *err)
{
	int held, ret, resumed;

	if (vm->acc.ops && vm->acc.ops->tasks)
		return tasks_from_technique(vm, flags, listp, err);
	/*
	 * A halting technique holds the guest for one read operation; the
	 * details and argv are several, and must see the guest the walk
	 * saw: one halt for all of them.
	 */
	held = (flags & (KH_TASKS_DETAILS | KH_TASKS_CMDLINE)) &&
	       vm->acc.ops && vm->acc.ops->pause;
	if (held) {
		ret = kh_vm_pause(vm, err);
		if (ret)
			return ret;
	}
	ret = walk_tasks(vm, flags, listp, err);
	if (held) {
		resumed = kh_vm_resume(vm, ret ? NULL : err);
		if (!ret && resumed) {
			kh_task_list_free(*listp);
			*listp = NULL;
			ret = resumed;
		}
	}
	return ret;
}

void kh_task_list_free(struct kh_task_list *list)
{
	if (!list)
		return;
	free(list->tasks);
	free(list->arena);
	free(list);
}
