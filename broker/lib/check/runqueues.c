// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The tasks on the guest's run queues, a view of the processes the
 * scheduler keeps and a rootkit that unlinks a task from the task list
 * cannot take away: a task that is to run again must stay queued (or be
 * running). Per possible CPU, the struct rq of runqueues:
 *
 * - rq->curr, the task running there (the idle task, rq->idle, is no
 *   process and is left out);
 * - the CFS tree (cfs_rq.tasks_timeline, an rbtree of sched_entity by
 *   run_node), where an entity with a queue of its own (se->my_q, a task
 *   group's) leads into that group's tree, and each queue's curr (the
 *   entity running, which is out of its tree) too;
 * - the real-time queues (rq->rt.active.queue[prio], lists of
 *   sched_rt_entity by run_list).
 *
 * Deadline tasks are not read. A sleeping task is on no queue: this view
 * finds the hidden processes that run, the IDR and children lists the
 * others. Guest memory is untrusted: every entity is seen once (a cycle
 * ends there), all of them are bounded, a bad pointer is marked.
 */
#include <errno.h>
#include <stdlib.h>

#include "check/check.h"
#include "walk/percpu.h"

/* More entities than this on the queues is no guest's. */
#define MAX_ENTITIES (1u << 20)
#define RT_PRIOS_MAX 128
/* A stack entry's low bit: an entity whose node is out of its tree. */
#define ONLY_ENTITY 1

enum {
	RQ_CURR, RQ_IDLE, RQ_CFS, RQ_RT_QUEUE, CFS_TIMELINE, CFS_CURR,
	SE_RUN_NODE, SE_MY_Q, TASK_SE, TASK_RT, RT_RUN_LIST, RT_ARRAY,
	RT_ARRAY_QUEUE, RB_RIGHT, RB_LEFT,
	NR_FIELDS
};

static const struct kh_field fields[NR_FIELDS] = {
	[RQ_CURR] = { "rq", "curr" },
	[RQ_IDLE] = { "rq", "idle" },
	[RQ_CFS] = { "rq", "cfs" },
	[RQ_RT_QUEUE] = { "rq", "rt.active.queue", .optional = 1 },
	[CFS_TIMELINE] = { "cfs_rq", "tasks_timeline" },
	[CFS_CURR] = { "cfs_rq", "curr" },
	[SE_RUN_NODE] = { "sched_entity", "run_node" },
	/* Without CONFIG_FAIR_GROUP_SCHED every entity is a task's. */
	[SE_MY_Q] = { "sched_entity", "my_q", .optional = 1 },
	[TASK_SE] = { "task_struct", "se" },
	[TASK_RT] = { "task_struct", "rt", .optional = 1 },
	[RT_RUN_LIST] = { "sched_rt_entity", "run_list", .optional = 1 },
	[RT_ARRAY] = { "rt_prio_array", NULL, .optional = 1 },
	[RT_ARRAY_QUEUE] = { "rt_prio_array", "queue", .optional = 1 },
	[RB_RIGHT] = { "rb_node", "rb_right" },
	[RB_LEFT] = { "rb_node", "rb_left" },
};

struct walk {
	struct kh_check_ctx *cx;
	const uint32_t *off;
	struct kh_addr_set seen;	/* entities and queues: no cycles */
	struct kh_addr_list *tasks;
	uint64_t *stack;		/* rb nodes and queues still to read */
	unsigned int sp, nr_seen;
	int bad, full;
};

static int push(struct walk *w, uint64_t va)
{
	if (!va)
		return 0;
	if (!kh_kernel_ptr_aligned(w->cx->vm, va, 8)) {
		w->bad = 1;
		return 0;
	}
	if (w->sp == MAX_ENTITIES || w->nr_seen >= MAX_ENTITIES) {
		w->full = 1;
		return 0;
	}
	w->stack[w->sp++] = va;
	return 0;
}

static int add_task(struct walk *w, uint64_t task)
{
	return kh_list_collect(w->cx->vm, task, w->tasks);
}

/* A CFS queue: its tree and the entity running on it. */
static int cfs_queue(struct walk *w, uint64_t cfs_rq)
{
	uint64_t root = 0, curr = 0;
	struct kh_read r[2] = {
		{ .addr = cfs_rq + w->off[CFS_TIMELINE], .buf = &root, .len = 8 },
		{ .addr = cfs_rq + w->off[CFS_CURR], .buf = &curr, .len = 8 },
	};
	int ret;

	ret = kh_addr_set_add(&w->seen, cfs_rq);
	if (ret <= 0)
		return ret;
	w->nr_seen++;
	ret = kh_kva_fetch(w->cx->vm, r, 2, NULL);
	if (ret < 0)
		return ret;
	if (ret) {
		w->bad = 1;
		return 0;
	}
	/*
	 * curr is an entity out of the tree: its node's links are stale
	 * (rb_erase leaves them), so only the entity is taken (ONLY_ENTITY).
	 */
	if (curr) {
		unsigned int sp = w->sp;

		ret = push(w, curr + w->off[SE_RUN_NODE]);
		if (w->sp > sp)
			w->stack[sp] |= ONLY_ENTITY;
	}
	return ret ? ret : push(w, root);
}

/*
 * One node of a CFS tree: its entity is a task's or a group's. Tagged
 * ONLY_ENTITY, a queue's curr: its links are not followed.
 */
static int cfs_node(struct walk *w, uint64_t node)
{
	const uint32_t *off = w->off;
	uint64_t links[3] = { 0 }, my_q = 0, se;
	int follow = !(node & ONLY_ENTITY), ret;

	node &= ~(uint64_t)ONLY_ENTITY;
	if (node < off[SE_RUN_NODE]) {
		w->bad = 1;
		return 0;
	}
	ret = kh_addr_set_add(&w->seen, node);
	if (ret <= 0)
		return ret;
	w->nr_seen++;
	se = node - off[SE_RUN_NODE];
	ret = kh_kva_fetch_one(w->cx->vm, node, links, sizeof(links), NULL);
	if (!ret && off[SE_MY_Q] != KH_FIELD_ABSENT)
		ret = kh_kva_u64(w->cx->vm, se + off[SE_MY_Q], &my_q);
	if (kh_check_fatal(ret))
		return ret;
	if (ret) {
		w->bad = 1;
		return 0;
	}
	if (follow) {
		ret = push(w, links[off[RB_RIGHT] / 8]);
		if (!ret)
			ret = push(w, links[off[RB_LEFT] / 8]);
		if (ret)
			return ret;
	}
	if (my_q) {
		if (!kh_kernel_ptr_aligned(w->cx->vm, my_q, 8)) {
			w->bad = 1;
			return 0;
		}
		return cfs_queue(w, my_q);
	}
	if (se < off[TASK_SE]) {
		w->bad = 1;
		return 0;
	}
	return add_task(w, se - off[TASK_SE]);
}

/*
 * A real-time entity: counted with the others, and once (an entity met
 * again, on this list or another, ends the list it was met on).
 */
static int rt_entity(struct kh_vm *vm, uint64_t entry, void *opaque)
{
	struct walk *w = opaque;
	int ret;

	if (entry < w->off[TASK_RT]) {
		w->bad = 1;
		return 1;
	}
	if (w->nr_seen >= MAX_ENTITIES) {
		w->full = 1;
		return 1;
	}
	ret = kh_addr_set_add(&w->seen, entry);
	if (ret <= 0) {
		w->bad |= !ret;
		return ret < 0 ? ret : 1;
	}
	w->nr_seen++;
	return add_task(w, entry - w->off[TASK_RT]);
}

/* The real-time queues of one rq: a list per priority. */
static int rt_queues(struct walk *w, uint64_t rq)
{
	const uint32_t *off = w->off;
	uint64_t heads[RT_PRIOS_MAX * 2];
	struct kh_result result = { 0 };
	uint64_t queue = rq + off[RQ_RT_QUEUE];
	unsigned int prios, i;
	int ret;

	if (off[RQ_RT_QUEUE] == KH_FIELD_ABSENT ||
	    off[TASK_RT] == KH_FIELD_ABSENT ||
	    off[RT_RUN_LIST] == KH_FIELD_ABSENT ||
	    off[RT_ARRAY] == KH_FIELD_ABSENT ||
	    off[RT_ARRAY_QUEUE] == KH_FIELD_ABSENT ||
	    off[RT_ARRAY] < off[RT_ARRAY_QUEUE])
		return 0;
	prios = (off[RT_ARRAY] - off[RT_ARRAY_QUEUE]) / 16;
	if (prios > RT_PRIOS_MAX) {
		w->bad = 1;
		return 0;
	}
	ret = kh_kva_fetch_one(w->cx->vm, queue, heads, prios * 16, NULL);
	if (kh_check_fatal(ret))
		return ret;
	if (ret) {
		w->bad = 1;
		return 0;
	}
	for (i = 0; i < prios && !w->full; i++) {
		/* An empty list points at itself. */
		if (heads[2 * i] == queue + i * 16)
			continue;
		ret = kh_list_walk(w->cx->vm, queue + i * 16,
				   off[RT_RUN_LIST],
				   MAX_ENTITIES, rt_entity, w, &result,
				   w->cx->err);
		if (ret)
			return ret;
	}
	if (result.flags & KH_RESULT_INCOMPLETE)
		w->bad = 1;
	return 0;
}

int kh_check_runqueue_tasks(struct kh_check_ctx *cx,
			    struct kh_addr_list *tasks, unsigned int *cpus,
			    int *bad)
{
	struct walk w = { .cx = cx, .tasks = tasks };
	struct kh_percpu pcpu = { 0 };
	struct kh_err one = { 0 };
	uint64_t runqueues;
	unsigned int cpu;
	int ret;

	*cpus = 0;
	if (kh_offsets(cx->vm, fields, NR_FIELDS, &w.off, NULL) ||
	    kh_sym_percpu(cx->vm, "runqueues", &runqueues, NULL) ||
	    w.off[RB_RIGHT] > 16 || w.off[RB_LEFT] > 16 ||
	    w.off[RB_RIGHT] % 8 || w.off[RB_LEFT] % 8)
		return -ENOENT;
	ret = kh_percpu_read(cx->vm, &pcpu, &one);
	if (kh_check_fatal(ret))
		return ret;
	if (ret)
		return -ENOENT;
	w.stack = malloc(MAX_ENTITIES * sizeof(*w.stack));
	if (!w.stack) {
		free(pcpu.offsets);
		return -ENOMEM;
	}
	for (cpu = 0; !ret && cpu < pcpu.nr; cpu++) {
		uint64_t rq = runqueues + pcpu.offsets[cpu], curr = 0, idle = 0;
		struct kh_read r[2] = {
			{ .addr = rq + w.off[RQ_CURR], .buf = &curr, .len = 8 },
			{ .addr = rq + w.off[RQ_IDLE], .buf = &idle, .len = 8 },
		};

		ret = kh_kva_fetch(cx->vm, r, 2, NULL);
		if (ret < 0)
			break;
		if (ret) {
			w.bad = 1;
			ret = 0;
			continue;
		}
		(*cpus)++;
		if (curr && curr != idle)
			ret = add_task(&w, curr);
		if (!ret)
			ret = cfs_queue(&w, rq + w.off[RQ_CFS]);
		while (!ret && w.sp) {
			uint64_t va = w.stack[--w.sp];

			ret = cfs_node(&w, va);
		}
		if (!ret)
			ret = rt_queues(&w, rq);
	}
	free(w.stack);
	free(pcpu.offsets);
	kh_addr_set_free(&w.seen);
	*bad = w.bad || w.full;
	return ret;
}
