// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What /proc/PID/cmdline and the rss column of /proc/PID/stat show, read
 * from the process's mm_struct and, for argv, from its user memory; and
 * the heap, for walkers of user-space structures (kh_task_heap).
 *
 * User memory is read through the process's own page tables (mm->pgd),
 * page by page, and only where a page is present: the guest kernel would
 * fault pages in (access_remote_vm), keyhole cannot and must not, so a
 * page that is not present (swapped out, never touched) ends the read
 * there and the cmdline comes back shorter, as a failed access_remote_vm
 * would make it.
 *
 * The rss is get_mm_rss() of 6.1: the mm's atomic counters, without the
 * deltas threads still cache (SPLIT_RSS_COUNTING), exactly what /proc
 * shows. 6.2 made them per-CPU counters; those kernels get -EOPNOTSUPP.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "walk/toolkit.h"
#include "kernel/memory.h"
#include "kernel/page_cache.h"
#include "kernel/pgtable.h"

#define PAGE_SIZE	4096ULL
/*
 * argv read at most, whatever the caller's buffer: a guest must not make
 * us walk page tables for megabytes. /proc has no such cap (exec allows a
 * quarter of the stack limit), so a longer argv comes back truncated.
 */
#define CMDLINE_MAX	(128 * 1024)

enum {
	MM_PGD, MM_ARG_START, MM_ARG_END, MM_ENV_START, MM_ENV_END,
	MM_RSS_STAT, RSS_COUNT, RSS_SIZE, MM_START_BRK, MM_BRK,
	NR_FIELDS
};

static const struct kh_field fields[NR_FIELDS] = {
	[MM_PGD] = { "mm_struct", "pgd" },
	[MM_ARG_START] = { "mm_struct", "arg_start" },
	[MM_ARG_END] = { "mm_struct", "arg_end" },
	[MM_ENV_START] = { "mm_struct", "env_start" },
	[MM_ENV_END] = { "mm_struct", "env_end" },
	[MM_RSS_STAT] = { "mm_struct", "rss_stat" },
	/* 6.1's atomic counters; 6.2 made rss_stat percpu_counters. */
	[RSS_COUNT] = { "mm_rss_stat", "count", NULL, 1 },
	[RSS_SIZE] = { "mm_rss_stat", NULL, NULL, 1 },
	[MM_START_BRK] = { "mm_struct", "start_brk" },
	[MM_BRK] = { "mm_struct", "brk" },
};

/*
 * The last page read_user() translated: the end of argv, read first to
 * tell a rewritten title, is nearly always on the page argv starts on,
 * and walking the process's page tables twice for it was 2% of a crawl.
 */
struct user_page {
	uint64_t vpn;		/* va >> 12, or UINT64_MAX */
	uint64_t gpa;		/* of the page */
	int user;
};

/*
 * Reads up to len bytes of user memory at va through the page tables at
 * root_gpa; stops at the first page that is not present. Returns the bytes
 * read or -ESRCH when the VM is gone.
 */
static long read_user(struct kh_vm *vm, uint64_t root_gpa, uint64_t va,
		      void *buf, size_t len, struct user_page *last,
		      struct kh_err *err)
{
	uint8_t *out = buf;
	size_t done = 0;
	int ret;

	while (done < len) {
		uint64_t chunk = PAGE_SIZE - ((va + done) & (PAGE_SIZE - 1));
		struct kh_xlate xlate;

		if (chunk > len - done)
			chunk = len - done;
		if ((va + done) >> 12 == last->vpn) {
			xlate.gpa = last->gpa + ((va + done) & (PAGE_SIZE - 1));
			xlate.user = last->user;
			ret = 0;
		} else {
			ret = kh_pgtable_walk(kh_gpa_pte, vm, root_gpa,
					      vm->kernel.levels, va + done,
					      &xlate);
			if (!ret)
				*last = (struct user_page){
					.vpn = (va + done) >> 12,
					.gpa = xlate.gpa & ~(PAGE_SIZE - 1),
					.user = xlate.user };
		}
		/* Kernel pages are mapped here too: never read through. */
		if (!ret && !xlate.user)
			break;
		if (!ret)
			ret = kh_gpa_fetch_one(vm, xlate.gpa, out + done, chunk,
					       NULL);
		if (ret == -ESRCH)
			return kh_err_set(err, ESRCH,
					  "QEMU process %d exited while being read",
					  (int)vm->target.pid);
		if (ret)
			break;
		done += chunk;
	}
	return done;
}

/*
 * task still has the mm it was listed with: 0, -ENOENT (it exited or
 * exec'd), -ESRCH (QEMU is gone). fresh: read past the page cache.
 */
static int same_mm(struct kh_vm *vm, const struct kh_task *task, int fresh,
		   struct kh_err *err)
{
	uint64_t now = 0;
	struct kh_read r = { .addr = task->addr + vm->profile->task.mm,
			     .buf = &now, .len = 8 };
	int ret = fresh ? kh_kva_fetch_fresh(vm, &r, 1, NULL) :
			  kh_kva_fetch(vm, &r, 1, NULL);

	if (ret == -ESRCH)
		return kh_err_set(err, ESRCH, "QEMU process %d exited while being read",
				  (int)vm->target.pid);
	if (ret || r.result || now != task->mm)
		return kh_err_set(err, ENOENT, "task %d has exited or changed its mm",
				  task->pid);
	return 0;
}

/* The task still has mm (it may have exited since it was listed). */
static int task_mm(struct kh_vm *vm, const struct kh_task *task,
		   uint64_t *mm, struct kh_err *err)
{
	int ret;

	if (!task->mm)
		return kh_err_set(err, ENOENT, "task %d has no mm (kernel thread or zombie)",
				  task->pid);
	if (!kh_kernel_ptr(vm, task->addr) || !kh_kernel_ptr(vm, task->mm))
		return kh_err_set(err, EFAULT, "task %d: bad task or mm pointer",
				  task->pid);
	/*
	 * In a cached operation, the page was fetched again for this check
	 * with every other process's (kh_task_mms_refresh), not left as the
	 * task walk saw it.
	 */
	ret = same_mm(vm, task, 0, err);
	if (ret)
		return ret;
	*mm = task->mm;
	return 0;
}

struct mm_args {
	uint64_t pgd, arg_start, arg_end, env_start, env_end;
};

static int read_args(struct kh_vm *vm, const uint32_t *off, uint64_t mm,
		     int32_t pid, struct mm_args *args, struct kh_err *err)
{
	struct kh_read reads[] = {
		{ .addr = mm + off[MM_PGD], .buf = &args->pgd, .len = 8 },
		{ .addr = mm + off[MM_ARG_START], .buf = &args->arg_start,
		  .len = 8 },
		{ .addr = mm + off[MM_ARG_END], .buf = &args->arg_end,
		  .len = 8 },
		{ .addr = mm + off[MM_ENV_START], .buf = &args->env_start,
		  .len = 8 },
		{ .addr = mm + off[MM_ENV_END], .buf = &args->env_end,
		  .len = 8 },
	};
	int ret;

	ret = kh_kva_fetch(vm, reads, sizeof(reads) / sizeof(reads[0]), err);
	if (ret > 0)
		return kh_err_set(err, EFAULT, "mm_struct 0x%" PRIx64 " of task %d cannot be read",
				  mm, pid);
	return ret;
}

/*
 * The task's argument and environment bounds and its page tables'
 * address. -ENOENT only for a task gone or changed (task_mm()): a layout
 * the guest's BTF lacks is -EPROTO here.
 */
static int user_args(struct kh_vm *vm, const struct kh_task *task,
		     struct mm_args *args, struct kh_err *err)
{
	const uint32_t *off;
	uint64_t mm;
	int ret;

	ret = kh_offsets(vm, fields, NR_FIELDS, &off, err);
	if (ret)
		return ret == -ENOENT ? -EPROTO : ret;
	ret = task_mm(vm, task, &mm, err);
	if (!ret)
		ret = read_args(vm, off, mm, task->pid, args, err);
	return ret;
}

/* The guest-physical root of those page tables. */
static int user_root(struct kh_vm *vm, const struct kh_task *task,
		     const struct mm_args *args, uint64_t *root_gpa,
		     struct kh_err *err)
{
	uint64_t run;

	if (!kh_kernel_ptr(vm, args->pgd) ||
	    kh_kva_to_gpa(vm, args->pgd, root_gpa, &run, NULL))
		return kh_err_set(err, EFAULT, "page tables 0x%" PRIx64 " of task %d cannot be found",
				  args->pgd, task->pid);
	return 0;
}

/*
 * As get_mm_cmdline() (fs/proc/base.c, 6.1): arg_start..arg_end, unless
 * the NUL that ends the arguments was overwritten, which means the process
 * rewrote its title with setproctitle(): then, as get_mm_proctitle(), the
 * first string at arg_start (up to a page, with its NUL), at most as long
 * as the arguments plus the environment that follows them.
 */
int kh_task_cmdline(struct kh_vm *vm, const struct kh_task *task, char *buf,
		    size_t size, size_t *len, struct kh_err *err)
{
	struct user_page page = { .vpn = UINT64_MAX };
	uint64_t root_gpa, limit;
	struct mm_args args;
	int proctitle, ret;
	size_t want;
	long got;
	char last;

	if (kh_vm_need_memory(vm, err))
		return -EOPNOTSUPP;

	*len = 0;
	ret = user_args(vm, task, &args, err);
	if (ret)
		return ret;
	/* Not far enough into exec to have a cmdline, as the kernel says. */
	if (!args.env_end || args.arg_start >= args.arg_end)
		return kh_vm_verify(vm, err);
	ret = user_root(vm, task, &args, &root_gpa, err);
	if (ret)
		return ret;
	got = read_user(vm, root_gpa, args.arg_end - 1, &last, 1, &page, err);
	if (got < 0)
		return got;
	proctitle = got == 1 && last;
	limit = args.arg_end - args.arg_start;
	if (proctitle && args.env_start == args.arg_end &&
	    args.env_end >= args.env_start)
		limit = args.env_end - args.arg_start;
	want = proctitle ? PAGE_SIZE : limit;
	if (want > size)
		want = size;
	if (want > CMDLINE_MAX)
		want = CMDLINE_MAX;
	got = read_user(vm, root_gpa, args.arg_start, buf, want, &page,
			 err);
	if (got < 0)
		return got;
	if (proctitle) {
		size_t n = strnlen(buf, got);

		if (n < (size_t)got)
			n++;
		got = n < limit ? n : limit;
	}
	*len = got;
	return kh_vm_verify(vm, err);
}

/*
 * As environ_read() (fs/proc/base.c): env_start..env_end, at most size
 * bytes (and CMDLINE_MAX), as far as the pages are there. The kernel
 * reads exactly that range whatever it holds, so a process that wrote
 * over its environment shows what it wrote, as /proc/PID/environ does.
 */
int kh_task_environ(struct kh_vm *vm, const struct kh_task *task, char *buf,
		    size_t size, size_t *len, struct kh_err *err)
{
	struct user_page page = { .vpn = UINT64_MAX };
	struct mm_args args;
	uint64_t root_gpa;
	size_t want;
	long got;
	int ret;

	if (kh_vm_need_memory(vm, err))
		return -EOPNOTSUPP;

	*len = 0;
	ret = user_args(vm, task, &args, err);
	if (ret)
		return ret;
	/* No environment yet (mid-exec), as the kernel says: empty. */
	if (!args.env_end || args.env_start >= args.env_end)
		return kh_vm_verify(vm, err);
	ret = user_root(vm, task, &args, &root_gpa, err);
	if (ret)
		return ret;
	want = args.env_end - args.env_start;
	if (want > size)
		want = size;
	if (want > CMDLINE_MAX)
		want = CMDLINE_MAX;
	got = read_user(vm, root_gpa, args.env_start, buf, want, &page, err);
	if (got < 0)
		return got;
	*len = got;
	return kh_vm_verify(vm, err);
}

/*
 * A walk of one process's page tables towards one end of its argv,
 * for kh_cmdline_prefetch.
 */
struct argv_walk {
	struct kh_pgwalk walk;
	struct kh_xlate xlate;
	uint64_t entry;
	int state;		/* 1: going on, 0: done, < 0: failed */
	int read_failed;	/* an entry could not be read */
};

static int start_argv_walk(struct kh_vm *vm, const struct mm_args *args,
			   uint64_t va, struct argv_walk *w)
{
	uint64_t root_gpa, run;

	w->state = -EFAULT;
	if (!args->env_end || args->arg_start >= args->arg_end ||
	    !kh_kernel_ptr(vm, args->pgd) ||
	    kh_kva_to_gpa(vm, args->pgd, &root_gpa, &run, NULL))
		return 0;
	w->state = kh_pgwalk_start(&w->walk, root_gpa, vm->kernel.levels, va)
		   ?: 1;
	return w->state > 0;
}

/* Reads the next level of every walk still going, in one batch. */
static int argv_walks_step(struct kh_vm *vm, struct argv_walk *w,
			   unsigned int nr, struct kh_read *reads)
{
	unsigned int i, n = 0;
	int ret;

	for (i = 0; i < nr; i++)
		if (w[i].state > 0)
			reads[n++] = (struct kh_read){
				.addr = kh_pgwalk_entry(&w[i].walk),
				.buf = &w[i].entry, .len = 8 };
	if (!n)
		return 0;
	ret = kh_gpa_fetch(vm, reads, n, NULL);
	if (ret < 0)
		return ret;
	for (i = 0, n = 0; i < nr; i++) {
		if (w[i].state <= 0)
			continue;
		w[i].read_failed = !!reads[n].result;
		w[i].state = reads[n++].result ?:
			     kh_pgwalk_step(&w[i].walk, w[i].entry,
					    &w[i].xlate);
	}
	return 1;
}

int kh_cmdline_prefetch(struct kh_vm *vm, const struct kh_task *const *tasks,
			unsigned int nr)
{
	struct mm_args *args = NULL;
	struct argv_walk *walks = NULL;
	struct kh_read *reads = NULL;
	const uint32_t *off;
	unsigned int i, n;
	uint8_t byte;
	int ret;

	if (!nr || !kh_page_cache_on(vm) ||
	    kh_offsets(vm, fields, NR_FIELDS, &off, NULL))
		return 0;
	args = calloc(nr, sizeof(*args));
	walks = calloc(2 * nr, sizeof(*walks));
	reads = calloc(5 * nr, sizeof(*reads));
	ret = -ENOMEM;
	if (!args || !walks || !reads)
		goto out;

	/* Every mm_struct's argv fields, then both ends of every argv. */
	for (i = 0, n = 0; i < nr; i++) {
		uint64_t mm = tasks[i]->mm;

		if (!kh_kernel_ptr(vm, mm))
			continue;
		reads[n++] = (struct kh_read){ .addr = mm + off[MM_PGD],
					       .buf = &args[i].pgd, .len = 8 };
		reads[n++] = (struct kh_read){ .addr = mm + off[MM_ARG_START],
					       .buf = &args[i].arg_start,
					       .len = 8 };
		reads[n++] = (struct kh_read){ .addr = mm + off[MM_ARG_END],
					       .buf = &args[i].arg_end,
					       .len = 8 };
		reads[n++] = (struct kh_read){ .addr = mm + off[MM_ENV_END],
					       .buf = &args[i].env_end,
					       .len = 8 };
	}
	ret = kh_kva_fetch(vm, reads, n, NULL);
	if (ret < 0)
		goto out;
	for (i = 0; i < nr; i++)
		if (start_argv_walk(vm, &args[i], args[i].arg_end - 1,
				    &walks[2 * i]) &&
		    (args[i].arg_start ^ (args[i].arg_end - 1)) >= PAGE_SIZE)
			start_argv_walk(vm, &args[i], args[i].arg_start,
					&walks[2 * i + 1]);
	do
		ret = argv_walks_step(vm, walks, 2 * nr, reads);
	while (ret > 0);
	if (ret < 0)
		goto out;

	/* The pages themselves: a byte brings the whole page in. */
	for (i = 0, n = 0; i < 2 * nr && n < 5 * nr; i++)
		if (!walks[i].state && walks[i].xlate.user)
			reads[n++] = (struct kh_read){
				.addr = walks[i].xlate.gpa, .buf = &byte,
				.len = 1 };
	ret = kh_gpa_fetch(vm, reads, n, NULL);
out:
	free(args);
	free(walks);
	free(reads);
	return ret < 0 ? ret : 0;
}

/* What a batch of user reads could not read, and why. */
struct user_misses {
	unsigned int swapped;	/* not present, with a (swap) entry */
	unsigned int failed;	/* an entry or the bytes could not be read */
};

/*
 * Reads each bytes at each of va[0..nr) (none crossing a page) into
 * bufs + i * each, through the page tables at root_gpa: a walk per
 * address, all of them level by level, then every present page's bytes
 * in one batch. present[i] says which were read; a page that is not
 * present, a kernel page (mapped here too: never read through) or a
 * failed read leaves its bytes zero, and misses counts the last two
 * kinds. A PROT_NONE page (and NUMA balancing's hinting entries) is in
 * RAM: read. 0, or -ESRCH / -ENOMEM.
 */
static int read_user_batch(struct kh_vm *vm, uint64_t root_gpa,
			   const uint64_t *va, unsigned int nr, size_t each,
			   uint8_t *bufs, uint8_t *present,
			   struct user_misses *misses)
{
	struct argv_walk *walks = calloc(nr + 1, sizeof(*walks));
	struct kh_read *reads = calloc(nr + 1, sizeof(*reads));
	unsigned int i, n;
	int ret = -ENOMEM;

	if (!walks || !reads)
		goto out;
	for (i = 0; i < nr; i++)
		walks[i].state = kh_pgwalk_start(&walks[i].walk, root_gpa,
						 vm->kernel.levels, va[i]) ?: 1;
	do
		ret = argv_walks_step(vm, walks, nr, reads);
	while (ret > 0);
	if (ret < 0)
		goto out;
	for (i = 0, n = 0; i < nr; i++) {
		struct argv_walk *w = &walks[i];

		if (w->state < 0 && !w->read_failed &&
		    !kh_pgwalk_protnone(&w->walk, w->entry, &w->xlate))
			w->state = 0;
		present[i] = !w->state && w->xlate.user;
		if (present[i])
			reads[n++] = (struct kh_read){
				.addr = w->xlate.gpa,
				.buf = bufs + (size_t)i * each, .len = each };
		else if (w->read_failed)
			misses->failed++;
		else if (w->state < 0 && w->entry && !(w->entry & 1))
			misses->swapped++;
	}
	ret = kh_gpa_fetch(vm, reads, n, NULL);
	if (ret < 0)
		goto out;
	ret = 0;
	for (i = 0, n = 0; i < nr; i++) {
		if (!present[i])
			continue;
		if (reads[n].result) {
			memset(reads[n].buf, 0, each);
			present[i] = 0;
			misses->failed++;
		}
		n++;
	}
out:
	free(walks);
	free(reads);
	return ret;
}

/* The mm's pgd, start_brk and brk; the root of its page tables. */
static int heap_bounds(struct kh_vm *vm, const uint32_t *off, uint64_t mm,
		       int32_t pid, uint64_t bounds[3], uint64_t *root_gpa,
		       struct kh_err *err)
{
	struct kh_read reads[] = {
		{ .addr = mm + off[MM_PGD], .buf = &bounds[0], .len = 8 },
		{ .addr = mm + off[MM_START_BRK], .buf = &bounds[1], .len = 8 },
		{ .addr = mm + off[MM_BRK], .buf = &bounds[2], .len = 8 },
	};
	int ret = kh_kva_fetch(vm, reads, 3, err);
	uint64_t run;

	if (ret > 0)
		return kh_err_set(err, EFAULT, "mm_struct 0x%" PRIx64 " of task %d cannot be read",
				  mm, pid);
	if (ret)
		return ret;
	if (!kh_kernel_ptr(vm, bounds[0]) ||
	    kh_kva_to_gpa(vm, bounds[0], root_gpa, &run, NULL))
		return kh_err_set(err, EFAULT, "page tables 0x%" PRIx64 " of task %d cannot be found",
				  bounds[0], pid);
	return 0;
}

/*
 * After reads through a task's page tables: the task still has its mm,
 * so that what was read was its memory, not that of a process that
 * exited or exec'd meanwhile, being torn down (-ENOENT, as task_mm()).
 */
static int still_mm(struct kh_vm *vm, const struct kh_task *task,
		    struct kh_err *err)
{
	/* Read now, past the page cache: the reads were after its check. */
	return same_mm(vm, task, 1, err) ?: kh_vm_verify(vm, err);
}

/*
 * What kh_task_heap() and kh_task_peek() start from: the task's mm (it
 * still has it), its pgd, start_brk and brk, and its page tables' root.
 */
static int user_mm(struct kh_vm *vm, const struct kh_task *task,
		   uint64_t bounds[3], uint64_t *root_gpa, struct kh_err *err)
{
	const uint32_t *off;
	uint64_t mm;
	int ret;

	if (kh_vm_need_memory(vm, err))
		return -EOPNOTSUPP;
	ret = kh_offsets(vm, fields, NR_FIELDS, &off, err);
	if (ret)
		return ret == -ENOENT ? -EPROTO : ret;
	ret = task_mm(vm, task, &mm, err);
	return ret ?: heap_bounds(vm, off, mm, task->pid, bounds, root_gpa,
				  err);
}

static int user_batch_failed(struct kh_vm *vm, const struct kh_task *task,
			     int ret, const char *what, struct kh_err *err)
{
	if (ret == -ESRCH)
		return kh_err_set(err, ESRCH, "QEMU process %d exited while being read",
				  (int)vm->target.pid);
	return kh_err_set(err, -ret, "%s of task %d cannot be read", what,
			  task->pid);
}

/*
 * The heap: start_brk..brk, as /proc/PID/maps's [heap] (brk is where the
 * process asked its end to be; the vma may reach further, to the page).
 * A guest cannot make it more than KH_HEAP_MAX / 4096 walks, and a
 * larger heap comes back cut.
 */
int kh_task_heap(struct kh_vm *vm, const struct kh_task *task,
		 struct kh_heap *heap, struct kh_err *err)
{
	uint64_t root_gpa, bounds[3], user_top, *va = NULL;
	struct user_misses misses = { 0 };
	uint8_t *present = NULL;
	unsigned int i, nr;
	int ret;

	memset(heap, 0, sizeof(*heap));
	ret = user_mm(vm, task, bounds, &root_gpa, err);
	if (ret)
		return ret;
	/* TASK_SIZE_MAX: the last user page is a guard page. */
	user_top = (1ULL << (vm->kernel.levels == 5 ? 56 : 47)) - PAGE_SIZE;
	/* The kernel page-aligns start_brk; brk only moves up from it. */
	if (bounds[2] < bounds[1] || bounds[1] & (PAGE_SIZE - 1) ||
	    bounds[2] > user_top)
		return kh_err_set(err, EFAULT, "task %d's heap 0x%" PRIx64 "..0x%" PRIx64 " is not a process's",
				  task->pid, bounds[1], bounds[2]);
	heap->start = bounds[1];
	heap->brk = bounds[2];
	heap->len = heap->brk - heap->start;
	if (heap->len > KH_HEAP_MAX)
		heap->len = KH_HEAP_MAX;
	if (!heap->len)
		return kh_vm_verify(vm, err);

	nr = (heap->len + PAGE_SIZE - 1) / PAGE_SIZE;
	heap->buf = calloc(nr, PAGE_SIZE);
	va = calloc(nr, sizeof(*va));
	present = calloc(nr, 1);
	if (!heap->buf || !va || !present) {
		ret = kh_err_set(err, ENOMEM, "out of memory for the %zu-byte heap of task %d",
				 heap->len, task->pid);
		goto out;
	}
	for (i = 0; i < nr; i++)
		va[i] = heap->start + i * PAGE_SIZE;
	ret = read_user_batch(vm, root_gpa, va, nr, PAGE_SIZE, heap->buf,
			      present, &misses);
	if (ret) {
		ret = user_batch_failed(vm, task, ret, "the heap", err);
		goto out;
	}
	for (i = 0; i < nr; i++)
		heap->missing += !present[i];
	heap->swapped = misses.swapped;
	heap->failed = misses.failed;
	ret = still_mm(vm, task, err);
out:
	free(va);
	free(present);
	if (ret) {
		size_t tried = heap->len;

		free(heap->buf);
		memset(heap, 0, sizeof(*heap));
		heap->tried = tried;
	}
	return ret;
}

int kh_task_peek(struct kh_vm *vm, const struct kh_task *task,
		 const uint64_t *va, unsigned int nr, size_t each,
		 uint8_t *bufs, uint8_t *present, unsigned int *failed,
		 struct kh_err *err)
{
	struct user_misses misses = { 0 };
	uint64_t root_gpa, bounds[3];
	unsigned int i;
	int ret;

	if (each > PAGE_SIZE)
		return kh_err_set(err, EINVAL, "a peek of %zu bytes crosses a page",
				  each);
	for (i = 0; i < nr; i++)
		if ((va[i] & (PAGE_SIZE - 1)) + each > PAGE_SIZE)
			return kh_err_set(err, EINVAL, "a peek at 0x%" PRIx64 " crosses a page",
					  va[i]);
	memset(bufs, 0, (size_t)nr * each);
	memset(present, 0, nr);
	ret = user_mm(vm, task, bounds, &root_gpa, err);
	if (ret)
		return ret;
	ret = nr ? read_user_batch(vm, root_gpa, va, nr, each, bufs, present,
				   &misses) : 0;
	if (ret)
		return user_batch_failed(vm, task, ret, "user memory", err);
	*failed = misses.failed;
	return still_mm(vm, task, err);
}

/* get_mm_rss(): file + anonymous + shmem pages, each clamped at 0. */
int kh_task_rss(struct kh_vm *vm, const struct kh_task *task,
		uint64_t *pages, struct kh_err *err)
{
	static const char *const counters[] = {
		"MM_FILEPAGES", "MM_ANONPAGES", "MM_SHMEMPAGES",
	};
	int64_t idx[3], nr_counters, count[3];
	struct kh_read reads[3];
	const uint32_t *off;
	uint64_t mm;
	unsigned int i;
	int ret;

	if (kh_vm_need_memory(vm, err))
		return -EOPNOTSUPP;

	*pages = 0;
	ret = kh_offsets(vm, fields, NR_FIELDS, &off, err);
	if (ret)
		return ret;
	if (off[RSS_COUNT] == KH_FIELD_ABSENT ||
	    off[RSS_SIZE] == KH_FIELD_ABSENT)
		return kh_err_set(err, EOPNOTSUPP,
				  "guest kernel keeps rss in per-CPU counters (6.2+); not supported");
	ret = kh_enum_value(vm, "NR_MM_COUNTERS", &nr_counters, err);
	for (i = 0; !ret && i < 3; i++)
		ret = kh_enum_value(vm, counters[i], &idx[i], err);
	if (ret)
		return ret;
	/* atomic_long_t count[NR_MM_COUNTERS]: 8 bytes each. */
	if (nr_counters <= 0 || off[RSS_SIZE] != nr_counters * 8)
		return kh_err_set(err, EPROTO,
				  "guest kernel layout: mm_rss_stat is not %" PRId64 " atomic_long_t",
				  nr_counters);
	ret = task_mm(vm, task, &mm, err);
	if (ret)
		return ret;
	for (i = 0; i < 3; i++) {
		if (idx[i] < 0 || idx[i] >= nr_counters)
			return kh_err_set(err, EPROTO, "%s is out of range",
					  counters[i]);
		reads[i] = (struct kh_read){
			.addr = mm + off[MM_RSS_STAT] + off[RSS_COUNT] +
				idx[i] * 8,
			.buf = &count[i], .len = 8 };
	}
	ret = kh_kva_fetch(vm, reads, 3, err);
	if (ret < 0)
		return ret;
	if (ret)
		return kh_err_set(err, EFAULT, "rss counters of task %d cannot be read",
				  task->pid);
	for (i = 0; i < 3; i++)
		*pages += count[i] > 0 ? (uint64_t)count[i] : 0;
	return kh_vm_verify(vm, err);
}

int kh_task_mms_refresh(struct kh_vm *vm, const struct kh_task *const *tasks,
			unsigned int nr)
{
	uint64_t *gpas, run;
	unsigned int i, n = 0;
	int ret;

	if (!nr || !kh_page_cache_on(vm))
		return 0;
	gpas = malloc(sizeof(*gpas) * nr);
	if (!gpas)
		return -ENOMEM;
	for (i = 0; i < nr; i++)
		if (!kh_kva_to_gpa(vm, tasks[i]->addr + vm->profile->task.mm,
				   &gpas[n], &run, NULL))
			n++;
	ret = kh_page_cache_refresh(vm, gpas, n);
	free(gpas);
	return ret;
}

int kh_task_list_refresh_mms(struct kh_vm *vm,
			     const struct kh_task_list *list)
{
	const struct kh_task **with_mm;
	unsigned int i, n = 0;
	int ret;

	if (!list->nr || !kh_page_cache_on(vm))
		return 0;
	with_mm = malloc(sizeof(*with_mm) * list->nr);
	if (!with_mm)
		return -ENOMEM;
	for (i = 0; i < list->nr; i++)
		if (list->tasks[i].mm)
			with_mm[n++] = &list->tasks[i];
	ret = kh_task_mms_refresh(vm, with_mm, n);
	free(with_mm);
	return ret;
}
