/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * check/: keyhole check, the cross-views that find what a rootkit hides
 * (kh_check). check.c runs them and holds what they share: the kernel's
 * text bounds, every module the guest has (from its list and from
 * sysfs, each with its memory) to name the owner of an address, and how
 * a finding or a problem is recorded. One file per check:
 * hidden_processes.c (with runqueues.c), hidden_modules.c (with modules.c, which gathers the
 * modules), tables.c (sys_call_table and the IDT), hooks.c (kprobes,
 * ftrace and netfilter), malfind.c, procfs.c and tty.c (operations
 * tables, judged by ops.c).
 *
 * A check that cannot run on this kernel (a symbol or a type it needs is
 * missing) says why in its status and the others go on; what a check
 * could not read marks the report incomplete. Only a VM that is gone
 * (-ESRCH) or no memory ends the whole check.
 */
#ifndef KH_CHECK_H
#define KH_CHECK_H

#include <errno.h>

#include "walk/toolkit.h"

/* A module's memory: core, init and data layouts, or 6.4's mem[]. */
#define KH_CHECK_MOD_RANGES 8
/* More modules than this is no kernel's (they are marked, not read). */
#define KH_CHECK_MAX_MODULES 65536

struct kh_check_module {
	uint64_t addr;			/* struct module, or the area's start */
	char name[56];
	int listed;			/* on the modules list */
	int in_sysfs;			/* has a kobject in module_kset */
	/*
	 * Found in the module loader's memory that no module on the list
	 * or in sysfs holds (module_areas.c): that area, whether a struct
	 * module was found there (else addr is the area's start) and
	 * whether it is still unformed (being loaded, or freed).
	 */
	int in_area, no_struct, unformed;
	uint64_t area_start, area_end;
	unsigned int nr_ranges;
	struct { uint64_t start, end; } ranges[KH_CHECK_MOD_RANGES];
};

/* Findings kept at most; more are counted, marked, not listed. */
#define KH_CHECK_MAX_FINDINGS 4096
/* Hooks kh_hooks() lists at most (the walks read no more). */
#define KH_CHECK_MAX_HOOKS 65536

struct kh_check_ctx {
	struct kh_vm *vm;
	struct kh_check_report *report;
	unsigned int mask;		/* the checks asked for */
	unsigned int cap;		/* findings allocated */
	uint64_t stext, etext;		/* the kernel's text */
	int have_text;
	/* Gathered on first need (kh_check_modules_once), maybe again. */
	int have_mods, mods_again;
	struct kh_check_module *mods;
	unsigned int nr_mods;
	struct kh_addr_set mod_set;	/* addr -> index in mods */
	/* Every module's ranges by start, for kh_check_owner(). */
	struct kh_check_range {
		uint64_t start, end;
		unsigned int mod;
	} *ranges;
	unsigned int nr_ranges;
	/*
	 * The processes, walked once, or NULL; a crawl's list (threads
	 * included) when the check runs after one (kh_check_after_crawl).
	 */
	const struct kh_task_list *tasks;
	struct kh_task_list *own_tasks;	/* walked here: tasks, or processes */
	const struct kh_crawl *crawl;	/* that crawl, or NULL */
	struct kh_err *err;
	int list_hooks;			/* kh_hooks(): every hook is found */
	unsigned int evict;		/* full list: where to look for room */
};

/*
 * The task list's processes alone, as hidden_processes compares them:
 * tasks, or after a crawl a walk of its own, since the crawl's list also
 * holds what each process's thread list leads to, where a task taken off
 * the task list can be put. 0; 1 when it cannot be walked (a problem of
 * hidden_processes, said); or a fatal -errno.
 */
int kh_check_processes(struct kh_check_ctx *cx,
		       const struct kh_task_list **listp);

/*
 * kh_check() at the end of a crawl of the same operation, with what the
 * crawl read moments before instead of reading it again: its task list
 * (for malfind and the controlling ttys), its modules list, and each
 * process's memory map (malfind: the map of the same task and mm). What
 * changed in between is seen by the next crawl's check, as by the next
 * crawl.
 */
int kh_check_after_crawl(struct kh_vm *vm, const struct kh_crawl *crawl,
			 struct kh_check_report **reportp, struct kh_err *err);

/*
 * A read's error that ends the check: the VM is gone, no memory, the
 * operation's time is up. Any other is what could not be read.
 */
static inline int kh_check_fatal(int ret)
{
	return ret == -ESRCH || ret == -ENOMEM || ret == -ETIME;
}
/* ret (< 0), with cx->err saying what it is if nothing has yet. */
int kh_check_fatal_err(struct kh_check_ctx *cx, int ret);

/* Appends a finding of check id (-ENOMEM). */
int kh_check_found(struct kh_check_ctx *cx, enum kh_check_id id,
		   const struct kh_finding *f);
/* Why check id could not run or missed something (it then returns 0). */
int kh_check_problem(struct kh_check_ctx *cx, enum kh_check_id id,
		     int ran, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* va lies in the kernel's own text (_stext to _etext). */
int kh_check_in_text(const struct kh_check_ctx *cx, uint64_t va);
/*
 * Names target in f: its symbol and offset in the kernel's text, or the
 * module that holds it ("name+0x40"; " (hidden)" when it is not on the
 * list), else nothing: memory that belongs to no code keyhole knows.
 * 0, or -errno when gathering the modules failed for good.
 */
int kh_check_describe(struct kh_check_ctx *cx, uint64_t target,
		      struct kh_finding *f);
/* The module whose memory holds va, or NULL; *start: that range's. */
const struct kh_check_module *kh_check_owner(const struct kh_check_ctx *cx,
					     uint64_t va, uint64_t *start);

/*
 * ops.c: the object a table or pointer was found in, as findings and
 * problems name it ("/proc/net/tcp", "tty driver ttyS"): given as text,
 * or built by name() only when there is something to say (a /proc
 * entry's path cost more than judging its tables, which nearly always
 * pass).
 */
struct kh_check_where {
	const char *text;
	void (*name)(const struct kh_check_where *where, char *buf,
		     size_t size);
	const void *opaque;	/* name()'s */
	int index;
	char buf[256];
};
const char *kh_check_where(struct kh_check_where *where);

/*
 * Where a function pointer was found, for kh_check_fn(): the object, the
 * table's type and the member, and whether the table is in the kernel's
 * image (then only the kernel's text is a right target; else a listed
 * module is too).
 */
struct kh_check_fn_at {
	struct kh_check_where *where;
	const char *table;	/* "seq_operations", or "" for a lone pointer */
	const char *member;
	uint32_t netns;		/* the object's network namespace, or 0 */
	int kernels;
};
/* Judges one function pointer at slot; a finding when it is wrong. */
int kh_check_fn(struct kh_check_ctx *cx, enum kh_check_id id,
		const struct kh_check_fn_at *at, uint64_t slot,
		uint64_t target);
/* The operations tables the checks judge, each a struct in BTF. */
enum kh_ops_type {
	KH_OPS_INODE,		/* inode_operations */
	KH_OPS_FILE,		/* file_operations */
	KH_OPS_PROC,		/* proc_ops */
	KH_OPS_DENTRY,		/* dentry_operations */
	KH_OPS_SEQ,		/* seq_operations */
	KH_OPS_TTY,		/* tty_operations */
	KH_OPS_LDISC,		/* tty_ldisc_ops */
	KH_OPS_PORT,		/* tty_port_operations */
	KH_OPS_PORT_CLIENT,	/* tty_port_client_operations */
	KH_OPS_NR
};
/*
 * Judges every function pointer of the operations table of the given type
 * at va, once per table (seen holds those judged). What cannot be read is
 * a problem of check id; 0 or a fatal -errno.
 */
int kh_check_ops(struct kh_check_ctx *cx, enum kh_check_id id,
		 struct kh_addr_set *seen, uint64_t va, enum kh_ops_type type,
		 struct kh_check_where *where, uint32_t netns);

/*
 * modules.c: fills cx->mods from the list and module_kset, once: only
 * hidden_modules and a hook found outside the kernel's text need them,
 * and on a clean guest the hooks need none.
 */
int kh_check_modules_once(struct kh_check_ctx *cx);
/*
 * module_areas.c: the module loader's vmalloc areas that no module in
 * cx->mods holds (kh_check_owner), each with the struct module found in
 * it, if any. 0 (the problem, if any, said) or a fatal -errno.
 */
struct kh_check_area {
	uint64_t start, end;
	uint64_t module;		/* the struct module in it, or 0 */
	uint32_t state;			/* its state */
	char name[56];
};
int kh_check_module_areas(struct kh_check_ctx *cx,
			  struct kh_check_area **areasp, unsigned int *nr);
/* Forgets them and gathers them afresh, past the page cache; once. */
int kh_check_modules_again(struct kh_check_ctx *cx);
void kh_check_modules_free(struct kh_check_ctx *cx);

/*
 * runqueues.c: appends to tasks every task on a run queue (running, or
 * queued by CFS or the real-time class; threads too, the idle tasks not)
 * of each possible CPU, *cpus how many were read. *bad when parts could
 * not be read or made no sense; -ENOENT when this kernel's run queues
 * are unknown.
 */
int kh_check_runqueue_tasks(struct kh_check_ctx *cx,
			    struct kh_addr_list *tasks, unsigned int *cpus,
			    int *bad);
int kh_check_hidden_processes(struct kh_check_ctx *cx);
int kh_check_hidden_modules(struct kh_check_ctx *cx);
int kh_check_syscalls(struct kh_check_ctx *cx);
int kh_check_idt(struct kh_check_ctx *cx);
int kh_check_kprobes(struct kh_check_ctx *cx);
int kh_check_ftrace(struct kh_check_ctx *cx);
int kh_check_netfilter(struct kh_check_ctx *cx);
int kh_check_malfind(struct kh_check_ctx *cx);
int kh_check_procfs(struct kh_check_ctx *cx);
int kh_check_tty(struct kh_check_ctx *cx);

#endif /* KH_CHECK_H */
