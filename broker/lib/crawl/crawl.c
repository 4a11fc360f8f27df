// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * crawl/: one monitoring iteration over the whole generic state, with its
 * cost and the consistency accounting of Suneja et al. (VEE 2015) section
 * 5.1. It calls every walker in walk/ and access/ for halting; the public
 * API and json/ (the crawl record) call it.
 *
 * I.A  zombie:          exit_state is EXIT_ZOMBIE or EXIT_DEAD; only the
 *                       task_struct itself is read, the rest is skipped.
 * I.B  dying:           PF_EXITING set, mm still there; read anyway.
 * I.C  as-good-as-dead: PF_EXITING set and mm already gone; skipped.
 * I.D  fresh:           started less than FRESH_NS before the crawl and
 *                       some of its state could not be read.
 * II.A died:            live when the crawl began, gone, exiting or
 *                       recycled (another pid) when it ended.
 * II.B changed:         alive throughout, but its mm changed (exec), or a
 *                       list changed under a walk (marked inconsistent).
 *
 * The task list is read at the start, and each of its tasks again at the
 * end, fresh from the guest: that second look is what tells II.A and II.B
 * apart from I.*. It reads the tasks where they were rather than walking
 * the list again: a task that left the list has exited (PF_EXITING and
 * exit_state set before release_task unlinks it), and a task_struct freed
 * and reused since holds another pid or no task at all, so each reads as
 * gone, in one batch rather than one read per task. Under KH_CRAWL_PAUSE
 * the guest is halted throughout, so II.* must be 0.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check/check.h"
#include "crawl/budget.h"
#include "crawl/since.h"
#include "kernel/page_cache.h"
#include "walk/toolkit.h"
#include "kernel/task_state.h"

#define PF_EXITING	0x00000004
#define PF_KTHREAD	0x00200000
#define FRESH_NS	(100ULL * 1000 * 1000)

static double now_ms(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/*
 * Keeps the first problem of any part in the crawl's own result. A list
 * that changed under its walk is II.B; a guest structure caught mid-update
 * (the timekeeper) is the guest's own state, so it is not.
 */
static void note(struct kh_crawl *crawl, const struct kh_result *part,
		 const char *what)
{
	if (part->flags)
		kh_mark(&crawl->result, part->flags, "%s: %s", what,
			part->problem);
	if (part->flags & KH_RESULT_INCONSISTENT && part != &crawl->os.result)
		crawl->consistency.changed++;
}

/*
 * The memory budget: what the crawl holds, counted after each walk and
 * each process (a walk itself is bounded by what guest RAM could hold).
 */
static uint64_t lists_bytes(const struct kh_crawl *crawl)
{
	uint64_t n = sizeof(*crawl);

	if (crawl->tasks)
		n += (uint64_t)crawl->tasks->nr * sizeof(*crawl->tasks->tasks);
	if (crawl->modules)
		n += (uint64_t)crawl->modules->nr *
		     sizeof(*crawl->modules->modules);
	if (crawl->ifaces)
		n += (uint64_t)crawl->ifaces->nr *
		     sizeof(*crawl->ifaces->ifaces);
	if (crawl->files)
		n += (uint64_t)crawl->files->nr * sizeof(*crawl->files->files);
	if (crawl->conns)
		n += (uint64_t)crawl->conns->nr * sizeof(*crawl->conns->conns);
	return n;
}

static int over_memory(struct kh_vm *vm, const struct kh_crawl_budget *budget,
		       uint64_t bytes, const char *after, struct kh_err *err)
{
	if (!budget || !budget->memory_bytes || bytes <= budget->memory_bytes)
		return 0;
	return kh_err_set(err, ENOBUFS,
			  "crawl of QEMU pid %d went over its memory budget of %llu bytes (%llu after %s)",
			  (int)vm->target.pid,
			  (unsigned long long)budget->memory_bytes,
			  (unsigned long long)bytes, after);
}

static int is_user_process(const struct kh_task *t)
{
	return !(t->flags & PF_KTHREAD) && t->pid == t->tgid;
}

/* I.* from one task's own fields; 1 when its state must not be read. */
static int classify(struct kh_crawl *crawl, const struct kh_task *t)
{
	if (t->exit_state & (EXIT_ZOMBIE | EXIT_DEAD)) {
		crawl->consistency.zombie++;
		return 1;
	}
	if (t->flags & PF_EXITING) {
		if (!t->mm) {
			crawl->consistency.as_good_as_dead++;
			return 1;
		}
		crawl->consistency.dying++;
	}
	return 0;
}

/* A process's own state: memory map, command line, resident pages. */
static int crawl_process(struct kh_vm *vm, const struct kh_task *t,
			 struct kh_proc_state *ps)
{
	int ret;

	ps->pid = t->pid;
	ps->task = t->addr;
	ps->mm = t->mm;
	ret = kh_maps_mm(vm, t->pid, t->mm, &ps->maps, NULL);
	if (!ret)
		ret = kh_task_cmdline(vm, t, ps->cmdline, sizeof(ps->cmdline),
				      &ps->cmdline_len, NULL);
	if (!ret)
		ret = kh_task_rss(vm, t, &ps->rss_pages, NULL);
	return ret;
}

/* Per task: the state prev had for it that still holds, if any. */
struct kept {
	struct kh_read_log *log;
	unsigned int idx;		/* in prev->procs */
};

/* Not classified away: its own state is read (classify(), side-effect free). */
static int state_wanted(const struct kh_task *t)
{
	return is_user_process(t) && !(t->exit_state &
				       (EXIT_ZOMBIE | EXIT_DEAD)) &&
	       !((t->flags & PF_EXITING) && !t->mm);
}

/*
 * Which processes keep prev's state: all their logged reads are read
 * again in one batch (kernel/read_log.c reads only their bytes).
 */
static int check_prev(struct kh_vm *vm, const struct kh_crawl *prev,
		      const struct kh_task_list *tasks, struct kept *kept,
		      struct kh_err *err)
{
	const struct kh_task **procs;
	struct kh_read_log **logs;
	unsigned int i, nr = 0, *idxs;
	int ret = 0;

	if (!prev || !prev->memo)
		return 0;
	procs = malloc(sizeof(*procs) * (tasks->nr ? tasks->nr : 1));
	logs = malloc(sizeof(*logs) * (tasks->nr ? tasks->nr : 1));
	idxs = malloc(sizeof(*idxs) * (tasks->nr ? tasks->nr : 1));
	if (!procs || !logs || !idxs) {
		ret = kh_err_set(err, ENOMEM, "out of memory for a crawl");
		goto out;
	}
	for (i = 0; i < tasks->nr; i++)
		if (state_wanted(&tasks->tasks[i]))
			procs[nr++] = &tasks->tasks[i];
	ret = kh_memo_check(vm, prev, procs, nr, logs, idxs, err);
	/* Only a VM gone ends the crawl: else every process is walked. */
	if (ret) {
		ret = ret == -ESRCH ? ret : 0;
		goto out;
	}
	for (i = 0, nr = 0; i < tasks->nr; i++) {
		if (!state_wanted(&tasks->tasks[i]))
			continue;
		kept[i].log = logs[nr];
		kept[i].idx = idxs[nr];
		nr++;
	}
out:
	free(procs);
	free(logs);
	free(idxs);
	return ret;
}

/* A process's state as prev had it; its log goes on into this crawl's memo. */
static int keep_process(struct kh_crawl *crawl, const struct kh_crawl *prev,
			const struct kh_task *t, const struct kept *kept,
			struct kh_proc_state *ps, struct kh_err *err)
{
	if (kh_proc_state_copy(ps, &prev->procs[kept->idx]) ||
	    kh_memo_add(crawl->memo, t, crawl->nr_procs, kept->log)) {
		kh_vma_list_free(ps->maps);
		memset(ps, 0, sizeof(*ps));
		return kh_err_set(err, ENOMEM, "out of memory for a crawl");
	}
	crawl->nr_reused++;
	return 0;
}

/* crawl_process, logging its reads when the crawl keeps a memo. */
static int walk_process(struct kh_vm *vm, struct kh_crawl *crawl,
			const struct kh_task *t, struct kh_proc_state *ps)
{
	struct kh_read_log *log = NULL;
	int ret, clean;

	if (!crawl->memo)
		return crawl_process(vm, t, ps);
	kh_read_log_begin(&log);
	ret = crawl_process(vm, t, ps);
	clean = !kh_read_log_end(log);
	/* Only a state read cleanly may stand for a later crawl's. */
	if (!ret && clean && ps->maps && !ps->maps->result.flags &&
	    !kh_read_log_seal(vm, log) &&
	    kh_memo_add(crawl->memo, t, crawl->nr_procs, log))
		ret = -ENOMEM;
	kh_read_log_put(log);
	return ret;
}

/*
 * Each process's state starts by checking that its task still has the
 * mm it was listed with: the pages holding those words are fetched again,
 * all in one read, rather than read as the task walk left them in the
 * page cache (or one read each).
 */
static int refresh_mms(struct kh_vm *vm, const struct kh_task_list *tasks,
		       const struct kept *kept)
{
	const struct kh_task **wanted;
	unsigned int i, nr = 0;
	int ret;

	if (!kh_page_cache_on(vm))
		return 0;
	wanted = malloc(sizeof(*wanted) * (tasks->nr ? tasks->nr : 1));
	if (!wanted)
		return 0;
	for (i = 0; i < tasks->nr; i++)
		if (state_wanted(&tasks->tasks[i]) && !kept[i].log)
			wanted[nr++] = &tasks->tasks[i];
	ret = kh_task_mms_refresh(vm, wanted, nr);
	free(wanted);
	return ret == -ENOMEM ? 0 : ret;
}

/*
 * What the processes' argv takes, for all of them at once: one process
 * after another, each would make a read per page-table level.
 */
static int prefetch(struct kh_vm *vm, const struct kh_task_list *tasks,
		    const struct kept *kept)
{
	const struct kh_task **procs;
	unsigned int i, nr = 0;
	int ret;

	if (!kh_page_cache_on(vm))
		return 0;
	procs = malloc(sizeof(*procs) * (tasks->nr ? tasks->nr : 1));
	if (!procs)
		return 0;
	for (i = 0; i < tasks->nr; i++)
		if (is_user_process(&tasks->tasks[i]) && tasks->tasks[i].mm &&
		    !kept[i].log)
			procs[nr++] = &tasks->tasks[i];
	ret = kh_cmdline_prefetch(vm, procs, nr);
	free(procs);
	return ret;
}

static int processes(struct kh_vm *vm, struct kh_crawl *crawl,
		     uint64_t now_ns, const struct kh_crawl_budget *budget,
		     const struct kh_crawl *prev, const struct kept *kept,
		     uint64_t bytes, struct kh_err *err)
{
	const struct kh_task_list *tasks = crawl->tasks;
	unsigned int i;
	int ret;

	for (i = 0; i < tasks->nr; i++) {
		const struct kh_task *t = &tasks->tasks[i];
		struct kh_proc_state *ps;

		if (classify(crawl, t)) {
			crawl->nr_skipped++;
			continue;
		}
		if (!is_user_process(t))
			continue;
		ps = &crawl->procs[crawl->nr_procs];
		if (kept[i].log)
			ret = keep_process(crawl, prev, t, &kept[i], ps, err);
		else
			ret = walk_process(vm, crawl, t, ps);
		if (ret == -ENOMEM) {
			kh_vma_list_free(ps->maps);
			memset(ps, 0, sizeof(*ps));
			return kh_err_set(err, ENOMEM, "out of memory for a crawl");
		}
		if (ret == -ESRCH) {
			kh_vma_list_free(ps->maps);
			ps->maps = NULL;
			return kh_vm_verify(vm, err) ?: ret;
		}
		if (ret) {
			/* Young tasks are not whole yet: I.D, not an error. */
			if (t->start_time + FRESH_NS > now_ns)
				crawl->consistency.fresh++;
			else
				kh_mark(&crawl->result, KH_RESULT_INCOMPLETE,
					"state of pid %d could not be read: %s",
					t->pid, strerror(-ret));
			kh_vma_list_free(ps->maps);
			memset(ps, 0, sizeof(*ps));
			continue;
		}
		note(crawl, &ps->maps->result, "maps");
		crawl->nr_procs++;
		bytes += (uint64_t)ps->maps->nr * sizeof(*ps->maps->vmas);
		if (over_memory(vm, budget, bytes + kh_memo_bytes(crawl->memo),
				"a process's maps", err))
			return -ENOBUFS;
	}
	return 0;
}

static int crawl_processes(struct kh_vm *vm, struct kh_crawl *crawl,
			   uint64_t now_ns,
			   const struct kh_crawl_budget *budget,
			   const struct kh_crawl *prev, struct kh_err *err)
{
	const struct kh_task_list *tasks = crawl->tasks;
	uint64_t bytes = lists_bytes(crawl);
	unsigned int i, nr = 1;
	struct kept *kept;
	int ret;

	/* An entry per process, not per task: each is a KiB to zero. */
	for (i = 0; i < tasks->nr; i++)
		nr += is_user_process(&tasks->tasks[i]);
	bytes += (uint64_t)nr * sizeof(*crawl->procs);
	if (over_memory(vm, budget, bytes, "the process table", err))
		return -ENOBUFS;
	crawl->procs = calloc(nr, sizeof(*crawl->procs));
	kept = calloc(tasks->nr ? tasks->nr : 1, sizeof(*kept));
	if (!crawl->procs || !kept) {
		free(kept);
		return kh_err_set(err, ENOMEM, "out of memory for a crawl");
	}
	ret = check_prev(vm, prev, tasks, kept, err);
	if (!ret)
		ret = refresh_mms(vm, tasks, kept);
	if (!ret)
		ret = prefetch(vm, tasks, kept);
	if (ret) {
		free(kept);
		return ret == -ESRCH ? kh_vm_verify(vm, err) ?: ret : ret;
	}
	ret = processes(vm, crawl, now_ns, budget, prev, kept, bytes, err);
	free(kept);
	return ret;
}

/* What the second look reads of each task. */
struct second_look {
	int32_t pid;
	uint32_t exit_state, flags;
	uint64_t mm;
};

static void look(struct kh_read *r, uint64_t addr, void *buf, uint32_t len)
{
	/* Field by field: a compound literal here was zeroed with rep stos. */
	r->addr = addr;
	r->buf = buf;
	r->len = len;
	r->result = 0;
}

static void look_at(struct kh_read *reads, uint64_t task,
		    const struct kh_task_layout *tl, struct second_look *l)
{
	look(&reads[0], task + tl->pid, &l->pid, 4);
	look(&reads[1], task + tl->exit_state, &l->exit_state, 4);
	look(&reads[2], task + tl->flags, &l->flags, 4);
	look(&reads[3], task + tl->mm, &l->mm, 8);
}

/* II.A and II.B: what the second look at each task says. */
static int second_look(struct kh_vm *vm, struct kh_crawl *crawl,
		       struct kh_err *err)
{
	const struct kh_task_list *start = crawl->tasks;
	struct second_look *now;
	struct kh_read *reads;
	unsigned int i;
	int ret;

	if (!start->nr)
		return 0;
	now = calloc(start->nr, sizeof(*now));
	reads = calloc(start->nr * 4, sizeof(*reads));
	if (!now || !reads) {
		free(now);
		free(reads);
		return kh_err_set(err, ENOMEM, "out of memory for a crawl");
	}
	/* It must see the guest as it is now, not as the crawl read it. */
	kh_vm_fresh(vm);
	for (i = 0; i < start->nr; i++)
		look_at(reads + i * 4, start->tasks[i].addr,
			&vm->profile->task, &now[i]);
	ret = kh_kva_fetch(vm, reads, start->nr * 4, err);
	for (i = 0; ret >= 0 && i < start->nr; i++) {
		const struct kh_task *a = &start->tasks[i];
		const struct second_look *b = &now[i];

		if (a->exit_state || (a->flags & PF_EXITING))
			continue;	/* counted as I.* already */
		if (reads[i * 4].result || reads[i * 4 + 1].result ||
		    reads[i * 4 + 2].result || reads[i * 4 + 3].result ||
		    b->pid != a->pid || b->exit_state ||
		    (b->flags & PF_EXITING))
			crawl->consistency.died++;
		else if (b->mm != a->mm)
			crawl->consistency.changed++;
	}
	free(now);
	free(reads);
	return ret < 0 ? ret : 0;
}

/*
 * Whether the open-file walk would start from the same tasks in b as in
 * a: each process's leader (kernel threads aside) at the same address
 * with the same ids, in the same order, and the same marks on the list.
 */
static int same_file_tasks(const struct kh_task_list *a,
			   const struct kh_task_list *b)
{
	unsigned int i = 0, j = 0;

	if (a->result.flags != b->result.flags)
		return 0;
	for (;;) {
		while (i < a->nr && (a->tasks[i].pid != a->tasks[i].tgid ||
				     (a->tasks[i].flags & PF_KTHREAD)))
			i++;
		while (j < b->nr && (b->tasks[j].pid != b->tasks[j].tgid ||
				     (b->tasks[j].flags & PF_KTHREAD)))
			j++;
		if (i == a->nr || j == b->nr)
			return i == a->nr && j == b->nr;
		if (a->tasks[i].addr != b->tasks[j].addr ||
		    a->tasks[i].pid != b->tasks[j].pid)
			return 0;
		i++;
		j++;
	}
}

/*
 * A part an incremental crawl may keep whole (crawl/since.c): its walk,
 * whether prev's was walked from the same inputs, a copy of prev's
 * result (0 or -ENOMEM), and the marks on the result.
 */
struct whole_part {
	enum kh_memo_part id;
	int (*walk)(struct kh_vm *vm, struct kh_crawl *crawl,
		    struct kh_err *err);
	int (*same_inputs)(const struct kh_crawl *prev,
			   const struct kh_crawl *crawl);
	int (*copy)(const struct kh_crawl *prev, struct kh_crawl *crawl);
	unsigned int (*flags)(const struct kh_crawl *crawl);
};

static int walk_tasks(struct kh_vm *vm, struct kh_crawl *crawl,
		      struct kh_err *err)
{
	return kh_tasks(vm, KH_TASKS_THREADS, &crawl->tasks, err);
}

/* The task walk starts from the kernel's own symbols: always the same. */
static int tasks_inputs(const struct kh_crawl *prev,
			const struct kh_crawl *crawl)
{
	return 1;
}

/*
 * A copy of list, whose head is head_size bytes and whose nr items of
 * item_size are the array its pointer at items_off points to; NULL when
 * out of memory. COPY_LIST names these from the list's type.
 */
static void *copy_list(const void *list, size_t head_size, size_t items_off,
		       size_t item_size, unsigned int nr)
{
	void *to = malloc(head_size), *items;

	if (!to)
		return NULL;
	memcpy(to, list, head_size);
	items = malloc(item_size * (nr ? nr : 1));
	if (!items) {
		free(to);
		return NULL;
	}
	memcpy(items, *(void *const *)((const char *)list + items_off),
	       item_size * nr);
	memcpy((char *)to + items_off, &items, sizeof(items));
	return to;
}

#define COPY_LIST(list, array)						\
	copy_list((list), sizeof(*(list)), offsetof(typeof(*(list)), array),	\
		  sizeof(*(list)->array), (list)->nr)

static int copy_tasks(const struct kh_crawl *prev, struct kh_crawl *crawl)
{
	crawl->tasks = COPY_LIST(prev->tasks, tasks);
	return crawl->tasks ? 0 : -ENOMEM;
}

static unsigned int tasks_flags(const struct kh_crawl *crawl)
{
	return crawl->tasks->result.flags;
}

static int walk_files(struct kh_vm *vm, struct kh_crawl *crawl,
		      struct kh_err *err)
{
	return kh_files_of(vm, crawl->tasks, 0, &crawl->files, err);
}

static int files_inputs(const struct kh_crawl *prev,
			const struct kh_crawl *crawl)
{
	return same_file_tasks(prev->tasks, crawl->tasks);
}

static int copy_files(const struct kh_crawl *prev, struct kh_crawl *crawl)
{
	crawl->files = COPY_LIST(prev->files, files);
	return crawl->files ? 0 : -ENOMEM;
}

static unsigned int files_flags(const struct kh_crawl *crawl)
{
	return crawl->files->result.flags;
}

static const struct whole_part tasks_part = {
	.id = KH_PART_TASKS, .walk = walk_tasks, .same_inputs = tasks_inputs,
	.copy = copy_tasks, .flags = tasks_flags,
};

static const struct whole_part files_part = {
	.id = KH_PART_FILES, .walk = walk_files, .same_inputs = files_inputs,
	.copy = copy_files, .flags = files_flags,
};

/*
 * Part p of the crawl: prev's result again when it was walked from the
 * same inputs and every read behind it reads the same now, else walked,
 * and logged for the next crawl when this one keeps a memo.
 */
static int crawl_part(struct kh_vm *vm, struct kh_crawl *crawl,
		      const struct kh_crawl *prev, const struct whole_part *p,
		      struct kh_err *err)
{
	struct kh_read_log *log;
	int ret, changed, same = 0;

	if (!crawl->memo)
		return p->walk(vm, crawl, err);
	log = kh_memo_part(vm, prev, p->id, &changed);
	if (log && p->same_inputs(prev, crawl)) {
		ret = kh_read_logs_same(vm, &log, 1, &same, err);
		if (ret)
			return ret;
		if (same) {
			if (p->copy(prev, crawl))
				return kh_err_set(err, ENOMEM, "out of memory for a crawl");
			kh_memo_keep_part(crawl->memo, p->id, log);
			return 0;
		}
	}
	if (log || changed) {
		/* Changed since: walked at full speed, logged next time. */
		kh_memo_part_changed(crawl->memo, p->id);
		return p->walk(vm, crawl, err);
	}
	kh_read_log_begin(&log);
	ret = p->walk(vm, crawl, err);
	if (!kh_read_log_end(log) && !ret && !p->flags(crawl) &&
	    !kh_read_log_seal(vm, log))
		kh_memo_keep_part(crawl->memo, p->id, log);
	kh_read_log_put(log);
	return ret;
}

/* After a walk: the memory budget, else the walk's own result. */
static int walked(struct kh_vm *vm, struct kh_crawl *crawl,
		  const struct kh_crawl_budget *budget,
		  const struct kh_result *part, const char *what,
		  struct kh_err *err)
{
	note(crawl, part, what);
	if (over_memory(vm, budget, lists_bytes(crawl), what, err))
		return -ENOBUFS;
	return 0;
}

/*
 * The rootkit checks, last: their second looks forget the crawl's cached
 * pages. The second look emptied the cache: the check fetches ahead the
 * pages the last crawl's check read, and takes this crawl's task list,
 * modules and maps rather than reading them again.
 */
static int crawl_check(struct kh_vm *vm, struct kh_crawl *crawl,
		       const struct kh_crawl *prev, struct kh_err *err)
{
	int ret = kh_memo_fetch_pages(vm, prev, KH_PAGES_CHECK);

	if (ret)
		return kh_err_set(err, ESRCH, "QEMU process %d exited while being read",
				  (int)vm->target.pid);
	ret = kh_check_after_crawl(vm, crawl, &crawl->check, err);
	if (ret)
		return ret;
	note(crawl, &crawl->check->result, "check");
	if (crawl->memo)
		kh_memo_remember_pages(vm, crawl->memo, KH_PAGES_CHECK);
	return 0;
}

static int crawl_parts(struct kh_vm *vm, struct kh_crawl *crawl,
		       const struct kh_crawl_budget *budget,
		       const struct kh_crawl *prev, struct kh_err *err)
{
	uint64_t now_ns;
	int ret;

	ret = kh_memo_fetch_pages(vm, prev, KH_PAGES_CRAWL);
	if (ret)
		return kh_err_set(err, ESRCH, "QEMU process %d exited while being read",
				  (int)vm->target.pid);
	ret = kh_os_info(vm, &crawl->os, err);
	if (!ret) {
		note(crawl, &crawl->os.result, "os");
		ret = kh_mem_info(vm, &crawl->mem, err);
		if (!ret)
			note(crawl, &crawl->mem.result, "mem");
	}
	if (!ret)
		ret = crawl_part(vm, crawl, prev, &tasks_part, err);
	if (!ret)
		ret = walked(vm, crawl, budget, &crawl->tasks->result,
			     "tasks", err);
	if (ret)
		return ret;
	now_ns = crawl->os.uptime * 1e9;

	ret = kh_modules(vm, &crawl->modules, err);
	if (!ret)
		ret = walked(vm, crawl, budget, &crawl->modules->result,
			     "modules", err);
	if (!ret)
		ret = kh_ifaces(vm, &crawl->ifaces, err);
	if (!ret)
		ret = walked(vm, crawl, budget, &crawl->ifaces->result,
			     "interfaces", err);
	/*
	 * The pages so far, not those of the open files and of each
	 * process's own state: a part kept reads none of its pages, and one
	 * read again mostly reads pages it has not had before. (A task list
	 * kept read none either; one walked is likely to be walked again.)
	 */
	if (!ret && crawl->memo)
		kh_memo_remember_pages(vm, crawl->memo, KH_PAGES_CRAWL);
	if (!ret)
		ret = crawl_part(vm, crawl, prev, &files_part, err);
	if (!ret)
		ret = walked(vm, crawl, budget, &crawl->files->result,
			     "files", err);
	if (!ret)
		ret = kh_conns_of(vm, crawl->files, &crawl->conns, err);
	if (!ret)
		ret = walked(vm, crawl, budget, &crawl->conns->result,
			     "connections", err);
	if (!ret)
		ret = crawl_processes(vm, crawl, now_ns, budget, prev, err);
	if (!ret)
		ret = second_look(vm, crawl, err);
	return ret;
}

/*
 * QEMU's life, confirmed once for the whole crawl: a QEMU gone is the
 * cause of whatever else failed, as each view would have said.
 */
static int verify_once(struct kh_vm *vm, int deferred, int ret,
		       struct kh_err *err)
{
	struct kh_err verr = { 0 };
	int vret = deferred ? kh_vm_verify(vm, &verr) :
		   kh_vm_verify_resume(vm, &verr);

	if (vret == -ESRCH || (vret && !ret)) {
		if (err)
			*err = verr;
		return vret;
	}
	return ret;
}

/* A crawl; with a memo when it is incremental (prev may still be NULL). */
static int crawl_run(struct kh_vm *vm, unsigned int flags,
		     const struct kh_crawl_budget *budget, int incremental,
		     const struct kh_crawl *prev, struct kh_crawl **crawlp,
		     struct kh_err *err)
{
	double wall = now_ms(CLOCK_MONOTONIC);
	double cpu = now_ms(CLOCK_THREAD_CPUTIME_ID);
	struct kh_budget_run time;
	struct kh_stats before, after;
	struct kh_crawl *crawl;
	int ret, resume_ret = 0, deferred;

	if (kh_vm_need_memory(vm, err))
		return -EOPNOTSUPP;

	crawl = calloc(1, sizeof(*crawl));
	if (!crawl || (incremental && kh_memo_new(&crawl->memo, vm))) {
		free(crawl);
		return kh_err_set(err, ENOMEM, "out of memory for a crawl");
	}
	kh_vm_get_stats(vm, &before);
	if (flags & KH_CRAWL_PAUSE) {
		ret = kh_vm_pause(vm, err);
		if (ret) {
			kh_memo_free(crawl->memo);
			free(crawl);
			return ret;
		}
		crawl->paused = 1;
	}
	kh_budget_begin(&time, budget ? budget->time_ms : 0);
	deferred = kh_vm_verify_defer(vm);
	if (!(flags & KH_CRAWL_UNCACHED))
		kh_page_cache_begin(vm);
	if (flags & KH_CRAWL_NO_READ_AHEAD)
		kh_page_cache_no_read_ahead(vm);
	ret = crawl_parts(vm, crawl, budget, prev, err);
	if (!ret && (flags & KH_CRAWL_CHECK))
		ret = crawl_check(vm, crawl, prev, err);
	kh_memo_seal(crawl->memo);
	if (!(flags & KH_CRAWL_UNCACHED))
		kh_page_cache_end(vm);
	ret = verify_once(vm, deferred, ret, err);
	kh_budget_end(&time);
	/*
	 * Past the deadline, walks may have ended on a failed read and said
	 * nothing, or said "incomplete": the budget is the cause either way.
	 */
	if (time.over)
		ret = kh_err_set(err, ETIME,
				 "crawl of QEMU pid %d went over its time budget of %u ms",
				 (int)vm->target.pid, budget->time_ms);
	if (flags & KH_CRAWL_PAUSE)
		resume_ret = kh_vm_resume(vm, ret ? NULL : err);
	if (!ret)
		ret = resume_ret;
	/*
	 * A part that failed on a QEMU that is dying may say something else
	 * (its memory went before its exit shows): the exit is the cause.
	 * A failure on a live QEMU is reported a second later, no more.
	 */
	if (ret && ret != -ETIME && ret != -ENOBUFS &&
	    kh_access_exit_shows(&vm->acc, 1000))
		ret = kh_err_set(err, ESRCH,
				 "QEMU process %d exited while being read",
				 (int)vm->target.pid);
	if (ret) {
		kh_crawl_free(crawl);
		return ret;
	}
	kh_vm_get_stats(vm, &after);
	crawl->read_calls = after.read_calls - before.read_calls;
	/* Mapped techniques' counts may lose one to another thread. */
	crawl->read_bytes = after.read_bytes > before.read_bytes ?
			    after.read_bytes - before.read_bytes : 0;
	crawl->cpu_ms = now_ms(CLOCK_THREAD_CPUTIME_ID) - cpu;
	crawl->wall_ms = now_ms(CLOCK_MONOTONIC) - wall;
	*crawlp = crawl;
	return 0;
}

int kh_crawl_within(struct kh_vm *vm, unsigned int flags,
		    const struct kh_crawl_budget *budget,
		    struct kh_crawl **crawlp, struct kh_err *err)
{
	return crawl_run(vm, flags, budget, 0, NULL, crawlp, err);
}

int kh_crawl_since(struct kh_vm *vm, unsigned int flags,
		   const struct kh_crawl_budget *budget,
		   const struct kh_crawl *prev, struct kh_crawl **crawlp,
		   struct kh_err *err)
{
	return crawl_run(vm, flags, budget, 1, prev, crawlp, err);
}

int kh_crawl(struct kh_vm *vm, unsigned int flags, struct kh_crawl **crawlp,
	     struct kh_err *err)
{
	return kh_crawl_within(vm, flags, NULL, crawlp, err);
}

void kh_crawl_free(struct kh_crawl *crawl)
{
	unsigned int i;

	if (!crawl)
		return;
	kh_task_list_free(crawl->tasks);
	kh_module_list_free(crawl->modules);
	kh_iface_list_free(crawl->ifaces);
	kh_file_list_free(crawl->files);
	kh_conn_list_free(crawl->conns);
	for (i = 0; i < crawl->nr_procs; i++)
		kh_vma_list_free(crawl->procs[i].maps);
	free(crawl->procs);
	kh_check_report_free(crawl->check);
	kh_memo_free(crawl->memo);
	free(crawl);
}
