// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * kh_check: runs the checks asked for in a fixed order, on one walk of
 * the processes and one gathering of the modules that several of them
 * share, and collects their findings. See check.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/check.h"
#include "kernel/memory.h"
#include "kernel/page_cache.h"

static const char *const names[KH_CHECK_NR] = {
	[KH_CHECK_HIDDEN_PROCESSES] = "hidden_processes",
	[KH_CHECK_HIDDEN_MODULES] = "hidden_modules",
	[KH_CHECK_SYSCALLS] = "syscalls",
	[KH_CHECK_IDT] = "idt",
	[KH_CHECK_KPROBES] = "kprobes",
	[KH_CHECK_FTRACE] = "ftrace",
	[KH_CHECK_NETFILTER] = "netfilter",
	[KH_CHECK_MALFIND] = "malfind",
	[KH_CHECK_PROCFS] = "procfs",
	[KH_CHECK_TTY] = "tty",
};

static int (*const runs[KH_CHECK_NR])(struct kh_check_ctx *) = {
	[KH_CHECK_HIDDEN_PROCESSES] = kh_check_hidden_processes,
	[KH_CHECK_HIDDEN_MODULES] = kh_check_hidden_modules,
	[KH_CHECK_SYSCALLS] = kh_check_syscalls,
	[KH_CHECK_IDT] = kh_check_idt,
	[KH_CHECK_KPROBES] = kh_check_kprobes,
	[KH_CHECK_FTRACE] = kh_check_ftrace,
	[KH_CHECK_NETFILTER] = kh_check_netfilter,
	[KH_CHECK_MALFIND] = kh_check_malfind,
	[KH_CHECK_PROCFS] = kh_check_procfs,
	[KH_CHECK_TTY] = kh_check_tty,
};

const char *kh_check_name(enum kh_check_id id)
{
	return (unsigned int)id < KH_CHECK_NR ? names[id] : "?";
}

int kh_check_found(struct kh_check_ctx *cx, enum kh_check_id id,
		   const struct kh_finding *f)
{
	struct kh_check_report *r = cx->report;
	unsigned int max = cx->list_hooks ? KH_CHECK_MAX_HOOKS :
					    KH_CHECK_MAX_FINDINGS;

	r->checks[id].findings++;
	if (r->nr == max) {
		kh_mark(&r->result, KH_RESULT_INCOMPLETE,
			"more than %u %s: the rest are counted, not listed",
			max, cx->list_hooks ? "hooks" : "findings");
		/*
		 * A listing full of harmless hooks keeps a suspect one in
		 * place of one of them: hooks registered in front of it
		 * must not push it out. The cursor only goes down.
		 */
		if (cx->list_hooks && f->suspect) {
			if (!cx->evict)
				cx->evict = r->nr;
			while (cx->evict && r->findings[cx->evict - 1].suspect)
				cx->evict--;
			if (cx->evict) {
				r->findings[cx->evict - 1] = *f;
				r->findings[cx->evict - 1].check = id;
			}
		}
		return 0;
	}
	if (r->nr == cx->cap) {
		unsigned int cap = cx->cap ? cx->cap * 2 : 16;
		struct kh_finding *n = realloc(r->findings, cap * sizeof(*n));

		if (!n)
			return kh_err_set(cx->err, ENOMEM,
					  "out of memory for %u findings", cap);
		r->findings = n;
		cx->cap = cap;
	}
	r->findings[r->nr] = *f;
	r->findings[r->nr].check = id;
	/* kh_hooks() lists what is not suspect too, and says which. */
	if (!cx->list_hooks)
		r->findings[r->nr].suspect = 1;
	r->nr++;
	return 0;
}

int kh_check_fatal_err(struct kh_check_ctx *cx, int ret)
{
	if (cx->err->code)
		return ret;
	if (ret == -ESRCH)
		return kh_err_set(cx->err, ESRCH, "the VM is gone");
	if (ret == -ENOMEM)
		return kh_err_set(cx->err, ENOMEM, "out of memory");
	if (ret == -ETIME)
		return kh_err_set(cx->err, ETIME,
				  "the crawl went over its time budget");
	return kh_err_set(cx->err, -ret, "reading the guest failed: %s",
			  strerror(-ret));
}

int kh_check_problem(struct kh_check_ctx *cx, enum kh_check_id id, int ran,
		     const char *fmt, ...)
{
	struct kh_check_status *st = &cx->report->checks[id];
	va_list ap;

	/* A check not asked for (its data gathered for another) says nothing. */
	if (!(cx->mask & (1u << id)))
		return 0;
	st->ran = ran;
	if (st->problem[0])
		return 0;
	va_start(ap, fmt);
	vsnprintf(st->problem, sizeof(st->problem), fmt, ap);
	va_end(ap);
	/* A check that ran can have missed things; one that did not, all. */
	kh_mark(&cx->report->result, KH_RESULT_INCOMPLETE, "%s: %s",
		names[id], st->problem);
	return 0;
}

int kh_check_in_text(const struct kh_check_ctx *cx, uint64_t va)
{
	return cx->have_text && va >= cx->stext && va < cx->etext;
}

const struct kh_check_module *kh_check_owner(const struct kh_check_ctx *cx,
					     uint64_t va, uint64_t *start)
{
	unsigned int lo = 0, hi = cx->nr_ranges;

	/* The last range that starts at or below va. */
	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (cx->ranges[mid].start <= va)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || va >= cx->ranges[lo - 1].end)
		return NULL;
	*start = cx->ranges[lo - 1].start;
	return &cx->mods[cx->ranges[lo - 1].mod];
}

int kh_check_describe(struct kh_check_ctx *cx, uint64_t target,
		      struct kh_finding *f)
{
	const struct kh_check_module *m;
	struct kh_sym_near near;
	uint64_t start = 0;
	int ret;

	f->target = target;
	if (kh_check_in_text(cx, target) &&
	    !kh_symbol_near(cx->vm, target, &near)) {
		snprintf(f->target_sym, sizeof(f->target_sym), "%s+0x%" PRIx64,
			 near.name, near.offset);
		return 0;
	}
	ret = kh_check_modules_once(cx);
	if (ret)
		return ret;
	m = kh_check_owner(cx, target, &start);
	if (!m && !cx->mods_again) {
		/* Loaded after the modules were gathered? Gather afresh. */
		ret = kh_check_modules_again(cx);
		if (ret)
			return ret;
		m = kh_check_owner(cx, target, &start);
	}
	if (!m)
		return 0;
	snprintf(f->owner, sizeof(f->owner), "%s%s", m->name,
		 m->listed ? "" : " (hidden)");
	snprintf(f->target_sym, sizeof(f->target_sym), "%s+0x%" PRIx64,
		 m->name, target - start);
	return 0;
}

void kh_check_report_free(struct kh_check_report *report)
{
	if (!report)
		return;
	free(report->findings);
	free(report);
}

static int text_bounds(struct kh_check_ctx *cx)
{
	if (kh_sym_va(cx->vm, "_stext", &cx->stext, NULL) ||
	    kh_sym_va(cx->vm, "_etext", &cx->etext, NULL) ||
	    cx->etext <= cx->stext)
		return -ENOENT;
	cx->have_text = 1;
	return 0;
}

#define NEED_TASKS ((1u << KH_CHECK_HIDDEN_PROCESSES) | \
		    (1u << KH_CHECK_MALFIND) | (1u << KH_CHECK_TTY))

/* A list's "incomplete", on the report: the checks on it say what. */
static void list_result(struct kh_check_ctx *cx, const struct kh_task_list *l)
{
	if (l->result.flags & KH_RESULT_INCOMPLETE)
		kh_mark(&cx->report->result, KH_RESULT_INCOMPLETE,
			"the task list: %s", l->result.problem);
}

/*
 * A walk of the task list's processes into cx->own_tasks: 0; 1 when it
 * failed (one says why); or a fatal -errno, in cx->err.
 */
static int walk_processes(struct kh_check_ctx *cx, struct kh_err *one)
{
	int ret = kh_tasks(cx->vm, 0, &cx->own_tasks, one);

	if (kh_check_fatal(ret)) {
		*cx->err = *one;
		return ret;
	}
	if (ret)
		return 1;
	list_result(cx, cx->own_tasks);
	return 0;
}

/*
 * The processes (after a crawl, its list, threads included), for the
 * checks that need them: a walk that fails (but for a VM gone or no
 * memory) keeps those three from running whole, not the others; one
 * that is incomplete is kept (the checks say so).
 */
static int tasks_once(struct kh_check_ctx *cx)
{
	struct kh_err one = { 0 };
	int ret;

	/* After a crawl, its list (threads included) of this operation. */
	if (cx->crawl && cx->crawl->tasks) {
		cx->tasks = cx->crawl->tasks;
		list_result(cx, cx->tasks);
		return 0;
	}
	ret = walk_processes(cx, &one);
	if (ret == 1) {
		kh_check_problem(cx, KH_CHECK_HIDDEN_PROCESSES, 0,
				 "the task list: %s", one.msg);
		kh_check_problem(cx, KH_CHECK_MALFIND, 0, "the task list: %s",
				 one.msg);
		kh_check_problem(cx, KH_CHECK_TTY, 1,
				 "the task list (for the controlling ttys): %s",
				 one.msg);
		return 0;
	}
	cx->tasks = cx->own_tasks;
	return ret;
}

int kh_check_processes(struct kh_check_ctx *cx,
		       const struct kh_task_list **listp)
{
	struct kh_err one = { 0 };
	int ret = 0;

	*listp = cx->crawl ? cx->own_tasks : cx->tasks;
	if (!*listp)
		ret = walk_processes(cx, &one);
	if (ret == 1)
		kh_check_problem(cx, KH_CHECK_HIDDEN_PROCESSES, 0,
				 "the task list: %s", one.msg);
	if (!ret)
		*listp = cx->own_tasks ?: *listp;
	return ret;
}

/*
 * The end of the operation: whether the guest stayed there (a halting
 * technique also lets it run again here), asked once for the whole check
 * unless an operation around it (a crawl) asks. ret, or verify's error.
 */
static int kh_vm_verify_end(struct kh_vm *vm, int deferred, int ret,
			    struct kh_err *err)
{
	struct kh_err one = { 0 };
	int vret = deferred ? kh_vm_verify(vm, ret ? &one : err) :
		   kh_vm_verify_resume(vm, ret ? &one : err);

	return ret ? ret : vret;
}

static int run_checks(struct kh_vm *vm, unsigned int mask, int list_hooks,
		      const struct kh_crawl *crawl,
		      struct kh_check_report **reportp, struct kh_err *err)
{
	struct kh_err none;
	struct kh_check_ctx cx = { .vm = vm, .list_hooks = list_hooks,
				   .crawl = crawl };
	unsigned int i;
	int ret = 0, deferred;

	if (!err)
		err = &none;
	memset(err, 0, sizeof(*err));
	cx.err = err;

	if (kh_vm_need_memory(vm, err))
		return -EOPNOTSUPP;
	if (!mask)
		mask = (1u << KH_CHECK_NR) - 1;
	if (mask >> KH_CHECK_NR)
		return kh_err_set(err, EINVAL, "unknown checks 0x%x asked for",
				  mask >> KH_CHECK_NR << KH_CHECK_NR);
	cx.report = calloc(1, sizeof(*cx.report));
	if (!cx.report)
		return kh_err_set(err, ENOMEM, "out of memory for a check");
	if (text_bounds(&cx))
		kh_mark(&cx.report->result, KH_RESULT_INCOMPLETE,
			"the kernel's text bounds (_stext, _etext) are unknown: hooks cannot be told from kernel code");
	cx.mask = mask;
	/* Before the gathering below, which can say a check cannot run. */
	for (i = 0; i < KH_CHECK_NR; i++)
		cx.report->checks[i].ran = !!(mask & (1u << i));
	/*
	 * One operation: each page read once, through any technique, and
	 * QEMU's life confirmed once at the end, not per process's map.
	 */
	deferred = kh_vm_verify_defer(vm);
	kh_page_cache_begin(vm);
	if (mask & NEED_TASKS)
		ret = tasks_once(&cx);
	for (i = 0; i < KH_CHECK_NR && !ret; i++) {
		if (cx.report->checks[i].ran)
			ret = runs[i](&cx);
	}
	kh_page_cache_end(vm);
	kh_task_list_free(cx.own_tasks);
	kh_check_modules_free(&cx);
	/* Every operation ends so: the guest was there for all of it. */
	ret = kh_vm_verify_end(vm, deferred, ret, err);
	if (ret == -ESRCH && err->code != ESRCH)
		kh_err_set(err, ESRCH, "the VM exited during the check");
	if (ret) {
		kh_check_report_free(cx.report);
		return ret;
	}
	*reportp = cx.report;
	return 0;
}

int kh_check(struct kh_vm *vm, unsigned int mask,
	     struct kh_check_report **reportp, struct kh_err *err)
{
	return run_checks(vm, mask, 0, NULL, reportp, err);
}

int kh_check_after_crawl(struct kh_vm *vm, const struct kh_crawl *crawl,
			 struct kh_check_report **reportp, struct kh_err *err)
{
	return run_checks(vm, 0, 0, crawl, reportp, err);
}

#define HOOK_CHECKS	(1u << KH_CHECK_KPROBES | 1u << KH_CHECK_FTRACE | \
			 1u << KH_CHECK_NETFILTER)

int kh_hooks(struct kh_vm *vm, unsigned int mask,
	     struct kh_check_report **reportp, struct kh_err *err)
{
	struct kh_err none;

	if (mask & ~HOOK_CHECKS)
		return kh_err_set(err ?: &none, EINVAL,
				  "kh_hooks lists kprobes, ftrace and netfilter hooks only (0x%x asked for)",
				  mask);
	return run_checks(vm, mask ?: HOOK_CHECKS, 1, NULL, reportp, err);
}
