// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Injected code (Volatility's malfind): per process, memory that is
 * executable and either writable or backed by no file. Loaders map code
 * from files, read-only; shellcode and injected libraries live in
 * anonymous memory made executable (mmap or mprotect with PROT_EXEC),
 * or in a memfd (memfd_create, the file-less loaders' way: the mapping
 * has a file, one that is on no file system).
 * The kernel's own special mappings ([vdso], [vsyscall], [uprobes]) are
 * file-less and executable by design and are not findings. JIT engines
 * (browsers, Java) make such memory legitimately: a finding names the
 * process and the range, for someone to look at.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "check/check.h"
#include "kernel/page_cache.h"

#define PF_EXITING_ 0x00000004
#define PF_KTHREAD_ 0x00200000

static int special(const struct kh_vma *v)
{
	return !strcmp(v->path, "[vdso]") || !strcmp(v->path, "[vsyscall]") ||
	       !strcmp(v->path, "[uprobes]");
}

/* A memfd's mapping, as /proc/PID/maps names it ("/memfd:NAME (deleted)"). */
static int memfd(const struct kh_vma *v)
{
	return v->file && !strncmp(v->path, "/memfd:", 7);
}

static int scan(struct kh_check_ctx *cx, const struct kh_task *t,
		const struct kh_vma_list *maps)
{
	unsigned int i;
	int ret;

	for (i = 0; i < maps->nr; i++) {
		const struct kh_vma *v = &maps->vmas[i];
		int wx = v->perms[1] == 'w' && v->perms[2] == 'x';
		struct kh_finding f;

		if (v->perms[2] != 'x' ||
		    (!wx && !memfd(v) && (v->file || special(v))))
			continue;
		f = (struct kh_finding){ .pid = t->tgid, .addr = v->start };
		memcpy(f.comm, t->comm, sizeof(f.comm));
		f.end = v->end;
		snprintf(f.what, sizeof(f.what),
			 "process %d (%s): %s memory 0x%" PRIx64 "-0x%" PRIx64 " (%s)%s%s",
			 t->tgid, t->comm, wx ? "writable and executable" :
			 memfd(v) ? "executable memfd" : "executable anonymous",
			 v->start, v->end, v->perms,
			 v->path[0] ? " " : "", v->path);
		snprintf(f.expected, sizeof(f.expected),
			 "code mapped from a file on a file system, not writable");
		ret = kh_check_found(cx, KH_CHECK_MALFIND, &f);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * A process whose map could not be read whole, because it exited or
 * exec'd since the walk (its mm changed, it is exiting): 1, and it is
 * no problem; a process still there is 0; -ESRCH when the VM is gone.
 */
static int gone(struct kh_check_ctx *cx, const struct kh_task *t)
{
	const struct kh_task_layout *tl = &cx->vm->profile->task;
	uint64_t mm = 0;
	uint32_t flags = 0, exit_state = 0;
	struct kh_read r[3] = {
		{ .addr = t->addr + tl->mm, .buf = &mm, .len = 8 },
		{ .addr = t->addr + tl->flags, .buf = &flags, .len = 4 },
		{ .addr = t->addr + tl->exit_state, .buf = &exit_state,
		  .len = 4 },
	};
	int ret = kh_kva_fetch_fresh(cx->vm, r, 3, cx->err);

	if (ret < 0)
		return ret;
	return ret || mm != t->mm || exit_state || (flags & PF_EXITING_);
}

/*
 * After a crawl of this operation, the maps it read moments before, by
 * task_struct: by pid, a task that claims another's pid would be
 * scanned with that one's map.
 */
static int index_crawled(const struct kh_check_ctx *cx,
			 struct kh_addr_set *by_task)
{
	const struct kh_crawl *crawl = cx->crawl;
	unsigned int i;

	for (i = 0; crawl && i < crawl->nr_procs; i++)
		if (crawl->procs[i].maps &&
		    kh_addr_set_put(by_task, crawl->procs[i].task, i) < 0)
			return kh_err_set(cx->err, ENOMEM,
					  "out of memory for malfind");
	return 0;
}

/*
 * Process t's map: the crawl's, when it read that task's with the same
 * mm, else read now (then *own is set).
 */
static int map_of(struct kh_check_ctx *cx, const struct kh_addr_set *by_task,
		  const struct kh_task *t, struct kh_vma_list **maps,
		  int *own, struct kh_err *err)
{
	int i = kh_addr_set_find(by_task, t->addr);

	*own = i < 0 || cx->crawl->procs[i].mm != t->mm;
	if (!*own) {
		*maps = cx->crawl->procs[i].maps;
		return 0;
	}
	/* Only executable mappings' paths: the rest are no finding. */
	return kh_maps_mm_flags(cx->vm, t->tgid, t->mm, KH_MAPS_EXEC_PATHS,
				maps, err);
}

/*
 * One task's map, scanned: 0 (scanned, or found unreadable and said),
 * 1 when the task is gone (another of its mm may still be scanned), or a
 * fatal -errno.
 */
static int scan_task(struct kh_check_ctx *cx, const struct kh_addr_set *by_task,
		     const struct kh_task *t, unsigned int *unread)
{
	struct kh_vma_list *maps = NULL;
	struct kh_err one = { 0 };
	int own, ret;

	ret = map_of(cx, by_task, t, &maps, &own, &one);
	if (kh_check_fatal(ret)) {
		*cx->err = one;
		return ret;
	}
	if (ret || (maps->result.flags & KH_RESULT_INCOMPLETE)) {
		ret = gone(cx, t);
		*unread += !ret;
	}
	if (!ret && maps) {
		cx->report->checks[KH_CHECK_MALFIND].examined++;
		ret = scan(cx, t, maps);
	}
	if (own)
		kh_vma_list_free(maps);
	return ret;
}

/*
 * The tasks to scan: cx->tasks, unless it lists no threads (no crawl's)
 * and one of its processes has no mm though it is no kernel thread: a
 * leader that exited, whose threads may live on with the process's mm,
 * and are then only in a walk of every thread (*threads, to free).
 */
static int tasks_to_scan(struct kh_check_ctx *cx,
			 struct kh_task_list **threads,
			 const struct kh_task_list **list)
{
	struct kh_err one = { 0 };
	unsigned int i;
	int ret;

	*list = cx->tasks;
	if (cx->crawl && cx->tasks == cx->crawl->tasks)
		return 0;
	for (i = 0; i < cx->tasks->nr; i++)
		if (!cx->tasks->tasks[i].mm &&
		    !(cx->tasks->tasks[i].flags & PF_KTHREAD_))
			break;
	if (i == cx->tasks->nr)
		return 0;
	ret = kh_tasks(cx->vm, KH_TASKS_THREADS, threads, &one);
	if (kh_check_fatal(ret)) {
		*cx->err = one;
		return ret;
	}
	if (ret)
		return kh_check_problem(cx, KH_CHECK_MALFIND, 1,
					"the threads of a process whose leader exited: %s",
					one.msg);
	*list = *threads;
	return 0;
}

/*
 * Every distinct mm once: first those of the tasks that look like
 * processes (no kernel thread, not exited, pid == tgid), then any other
 * task's whose mm none of those had (a leader that changed its pid, the
 * threads of a leader that exited, a task marked a kernel thread). What
 * a task looks like is the guest's word: it orders the scan (a finding
 * names a process where there is one) and never leaves an mm out. An mm
 * counts as done once a task of it was scanned, not when one was gone.
 */
int kh_check_malfind(struct kh_check_ctx *cx)
{
	struct kh_addr_set by_task = { 0 }, mms = { 0 };
	const struct kh_task_list *list = NULL;
	struct kh_task_list *threads = NULL;
	unsigned int i, pass, unread = 0;
	int ret = index_crawled(cx, &by_task);

	if (!ret)
		ret = tasks_to_scan(cx, &threads, &list);
	for (pass = 0; pass < 2 && !ret; pass++) {
		for (i = 0; i < list->nr && !ret; i++) {
			const struct kh_task *t = &list->tasks[i];

			if (!t->mm || (!pass && ((t->flags & PF_KTHREAD_) ||
						 t->exit_state ||
						 t->pid != t->tgid)) ||
			    kh_addr_set_find(&mms, t->mm) >= 0)
				continue;
			ret = scan_task(cx, &by_task, t, &unread);
			if (ret == 1)
				ret = 0;
			else if (!ret && kh_addr_set_add(&mms, t->mm) < 0)
				ret = kh_err_set(cx->err, ENOMEM,
						 "out of memory for malfind");
		}
	}
	kh_task_list_free(threads);
	kh_addr_set_free(&by_task);
	kh_addr_set_free(&mms);
	if (!ret && unread)
		kh_check_problem(cx, KH_CHECK_MALFIND, 1,
				 "the memory maps of %u processes could not be read whole",
				 unread);
	return ret;
}
