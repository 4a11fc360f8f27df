/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The guest pages one operation has read, kept for the rest of it (a
 * crawl asks for the same page many times: a task_struct field by field,
 * every level of a page-table walk into vmalloc'd memory). Through a
 * technique whose every read is a system call (pvreadv, procmem, kread,
 * the halting ones) each 4 KiB page is then fetched whole, once, the
 * misses of a batch in one read; later reads are copies from here.
 *
 * Never stale beyond its operation: the cache is this thread's, for one
 * VM, from kh_page_cache_begin to the matching end; walkers that read
 * again to see whether something changed (a retried walk, a seqcount, the
 * crawl's second look at the task list) call kh_vm_fresh first.
 */
#ifndef KH_PAGE_CACHE_H
#define KH_PAGE_CACHE_H

#include <stdint.h>

struct kh_access;
struct kh_err;
struct kh_vm;
struct kh_read;

/* The pool: pages one operation keeps at most (16 MiB). */
#define KH_PAGE_CACHE_PAGES	4096

typedef int (*kh_access_read_fn)(struct kh_access *acc, struct kh_read *reads,
				 unsigned int nr);

/* Scopes nest: only the outermost begin and end count. */
void kh_page_cache_begin(struct kh_vm *vm);
void kh_page_cache_end(struct kh_vm *vm);

/* Forgets every page and translation cached for vm on this thread. */
void kh_vm_fresh(struct kh_vm *vm);

/*
 * This thread's operation on vm as a number that changes whenever what
 * it read is forgotten (kh_vm_fresh, the next operation), or 0 outside
 * one: a walker may keep what it derived from guest memory (a file's
 * path) under it, for exactly as long as the pages it came from. Scopes
 * exist for every technique, cached or not. 64 bits: it never comes back
 * to a value a memo may still hold.
 */
uint64_t kh_page_cache_epoch(const struct kh_vm *vm);

/*
 * Fetches again the cached pages that hold gpas[0..nr), in one read: a
 * walker's next reads of them see the guest as it is now (a crawl checks
 * every process's mm this way before reading their state). 0 or -errno
 * for the whole batch; nothing without a cache.
 */
int kh_page_cache_refresh(struct kh_vm *vm, const uint64_t *gpas,
			  unsigned int nr);

/*
 * The pages cached for vm now (gfns, malloc'd; *nrp may be 0), so that
 * the next crawl can fetch them ahead: 0 or -ENOMEM.
 */
int kh_page_cache_pages(const struct kh_vm *vm, uint64_t **gfnsp,
			unsigned int *nrp);
/*
 * Fetches gfns[0..nr) into the cache ahead of the walks that will want
 * them, when the technique batches (pvreadv: a read per IOV_MAX pages);
 * only a hint, fresh as of now. 0, or -errno when the VM is gone.
 */
int kh_page_cache_prefetch(struct kh_vm *vm, const uint64_t *gfns,
			   unsigned int nr);

/*
 * kh_kva_fetch straight from the guest, past the cache, for a walker that
 * reads one thing again to see whether it changed since it was listed
 * (a task's mm, a task_struct slot met twice): 0 or -errno as
 * kh_kva_fetch, with nothing else forgotten.
 */
int kh_kva_fetch_fresh(struct kh_vm *vm, struct kh_read *reads,
		       unsigned int nr, struct kh_err *err);
/* The same by guest-physical address: only the bytes asked for are read. */
int kh_gpa_fetch_fresh(struct kh_vm *vm, struct kh_read *reads,
		       unsigned int nr, struct kh_err *err);

/*
 * Whether reads of vm on this thread go through the cache: inside a
 * scope, for a technique with no mapping of guest RAM or of its copy
 * (where a read is already a copy, caching would only add one).
 */
int kh_page_cache_on(const struct kh_vm *vm);

/*
 * Whether a walk should read ahead (walk/tasks_ahead.c, path_ahead.c):
 * the cache is on and one read of the technique carries many places
 * (pvreadv), unless a scope turned it off for comparison
 * (kh_page_cache_no_read_ahead, KH_CRAWL_NO_READ_AHEAD): off until that
 * scope ends, in the scopes inside it too.
 */
int kh_page_cache_read_ahead(const struct kh_vm *vm);
void kh_page_cache_no_read_ahead(struct kh_vm *vm);

/*
 * Around a walk's read-ahead: its reads only fill the cache, so they are
 * neither logged for an incremental crawl (the walk's state does not
 * depend on them) nor traced as what the crawl touched (its floor).
 */
struct kh_read_ahead_scope {
	struct kh_read_log *log;
	struct kh_trace *trace;
};
void kh_read_ahead_begin(struct kh_read_ahead_scope *scope);
void kh_read_ahead_end(const struct kh_read_ahead_scope *scope);

/*
 * As the technique's read (every element inside RAM), through the cache:
 * the number that failed, or the technique's -errno for the whole batch.
 */
int kh_page_cache_read(struct kh_vm *vm, kh_access_read_fn read,
		       struct kh_read *reads, unsigned int nr);

/*
 * The kernel's own page-table translations, cached as pages are: the
 * 4 KiB-aligned gpa of va's page, or 0 when none is cached.
 */
int kh_tlb_find(const struct kh_vm *vm, uint64_t va, uint64_t *gpa,
		uint64_t *page_size);
void kh_tlb_put(const struct kh_vm *vm, uint64_t va, uint64_t gpa,
		uint64_t page_size);

#endif /* KH_PAGE_CACHE_H */
