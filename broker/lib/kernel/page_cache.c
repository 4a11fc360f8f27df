// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The per-operation cache of guest pages and kernel translations
 * (kernel/page_cache.h). One per thread, for the VM whose operation the
 * thread runs: keyholed's workers crawl one VM at a time each, so nothing
 * here is shared and nothing is locked.
 *
 * Entries belong to a generation: forgetting everything is one increment,
 * not a sweep of the table. Page buffers come from one pool, allocated on
 * first use and kept for the thread's life (a crawl faulting in fresh
 * buffers would pay more than the copies it saves); when the pool fills,
 * the cache forgets and starts again, so a guest of any size is served
 * with bounded memory.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/page_cache.h"
#include "kernel/read_log.h"
#include "kernel/trace.h"
#include "vm.h"

#define PAGE_SHIFT	12
#define PAGE_SIZE	(1ULL << PAGE_SHIFT)
#define MAX_PAGES	KH_PAGE_CACHE_PAGES
#define NR_SLOTS	(2 * MAX_PAGES)	/* a power of two, half full at most */
#define TLB_SIZE	256		/* a power of two */
/* Larger reads go straight to the technique: each page once anyway. */
#define MAX_CACHED_READ	(4 * PAGE_SIZE)
#define FAILED		UINT32_MAX
/* A read's result while kh_page_cache_read works on it. */
#define MISS		1	/* the cache takes it, a page is not cached */
#define DIRECT		2	/* the cache does not take it */

struct slot {
	uint64_t gfn;
	uint32_t gen;
	uint32_t page;		/* index in the pool, or FAILED */
};

struct tlb_entry {
	uint64_t vpn;
	uint64_t gpa;		/* of the 4 KiB page */
	uint64_t page_size;
	uint32_t gen;
};

struct page_cache {
	const struct kh_vm *vm;
	unsigned int depth;
	int bypass;		/* kh_kva_fetch_fresh under way */
	uint32_t gen;
	uint64_t epoch;		/* as gen, but never wraps */
	unsigned int nr_pages;
	struct slot *slots;
	uint8_t *pool;
	struct kh_read *fetch;	/* this batch's misses and direct reads */
	/*
	 * Per pool page, whether a walker read it (not only a prefetch):
	 * the pages the next crawl fetches ahead are those, or a page
	 * fetched ahead once would be fetched ahead for ever.
	 */
	uint8_t *used;
	int prefetching;
	/*
	 * kh_page_cache_no_read_ahead: the depth of the scope that said so
	 * (0: none), so that it ends with that scope, not the outermost.
	 */
	unsigned int no_ahead;
	struct tlb_entry tlb[TLB_SIZE];
};

static __thread struct page_cache *cache;
static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

static void cache_free(void *p)
{
	struct page_cache *pc = p;

	free(pc->slots);
	free(pc->pool);
	free(pc->fetch);
	free(pc->used);
	free(pc);
}

static void key_create(void)
{
	pthread_key_create(&cache_key, cache_free);
}

static struct page_cache *current(const struct kh_vm *vm)
{
	struct page_cache *pc = cache;

	return pc && pc->depth && pc->vm == vm ? pc : NULL;
}

static void forget(struct page_cache *pc)
{
	pc->nr_pages = 0;
	pc->epoch++;
	if (++pc->gen)
		return;
	/* Wrapped: entries of generation 0 must not match anything. */
	if (pc->slots)
		memset(pc->slots, 0, sizeof(*pc->slots) * NR_SLOTS);
	memset(pc->tlb, 0, sizeof(pc->tlb));
	pc->gen = 1;
}

void kh_page_cache_begin(struct kh_vm *vm)
{
	struct page_cache *pc = cache;

	if (pc && pc->depth) {
		/* Nested, or an operation on another VM inside one. */
		if (pc->vm == vm)
			pc->depth++;
		return;
	}
	if (!pc) {
		pthread_once(&cache_once, key_create);
		pc = calloc(1, sizeof(*pc));
		if (!pc)
			return;		/* no cache: reads go straight */
		pc->gen = 1;
		cache = pc;
		pthread_setspecific(cache_key, pc);
	}
	pc->vm = vm;
	pc->depth = 1;
	pc->no_ahead = 0;
	forget(pc);
}

void kh_page_cache_end(struct kh_vm *vm)
{
	struct page_cache *pc = current(vm);

	if (!pc)
		return;
	if (pc->no_ahead == pc->depth)
		pc->no_ahead = 0;
	if (!--pc->depth) {
		forget(pc);
		pc->vm = NULL;
	}
}

void kh_vm_fresh(struct kh_vm *vm)
{
	struct page_cache *pc = current(vm);

	/* Reading again means a change was seen: a log cannot vouch. */
	kh_read_log_taint();
	if (pc)
		forget(pc);
}

uint64_t kh_page_cache_epoch(const struct kh_vm *vm)
{
	const struct page_cache *pc = current(vm);

	return pc ? pc->epoch : 0;
}

int kh_page_cache_on(const struct kh_vm *vm)
{
	const struct page_cache *pc = current(vm);

	/* A technique that maps what it reads (or a copy of it) copies. */
	return pc && !pc->bypass &&
	       !(vm->acc.ops->props & KH_TECHNIQUE_MAPPED) &&
	       !vm->acc.ops->map;
}

int kh_page_cache_read_ahead(const struct kh_vm *vm)
{
	const struct page_cache *pc = current(vm);

	return kh_page_cache_on(vm) && vm->acc.ops->batches && !pc->no_ahead;
}

void kh_page_cache_no_read_ahead(struct kh_vm *vm)
{
	struct page_cache *pc = current(vm);

	if (pc && !pc->no_ahead)
		pc->no_ahead = pc->depth;
}

void kh_read_ahead_begin(struct kh_read_ahead_scope *scope)
{
	scope->log = kh_logging;
	scope->trace = kh_tracing;
	kh_logging = NULL;
	kh_tracing = NULL;
}

void kh_read_ahead_end(const struct kh_read_ahead_scope *scope)
{
	kh_logging = scope->log;
	kh_tracing = scope->trace;
}

/* fetch's answer, past this thread's page cache. */
static int fetch_fresh(struct kh_vm *vm, kh_fetch_fn fetch,
		       struct kh_read *reads, unsigned int nr,
		       struct kh_err *err)
{
	struct page_cache *pc = current(vm);
	int ret;

	if (pc)
		pc->bypass++;
	ret = fetch(vm, reads, nr, err);
	if (pc)
		pc->bypass--;
	return ret;
}

int kh_kva_fetch_fresh(struct kh_vm *vm, struct kh_read *reads,
		       unsigned int nr, struct kh_err *err)
{
	return fetch_fresh(vm, kh_kva_fetch, reads, nr, err);
}

int kh_gpa_fetch_fresh(struct kh_vm *vm, struct kh_read *reads,
		       unsigned int nr, struct kh_err *err)
{
	return fetch_fresh(vm, kh_gpa_fetch, reads, nr, err);
}

static uint32_t hash(uint64_t gfn)
{
	return (uint32_t)((gfn * 0x9e3779b97f4a7c15ULL) >> 40) &
	       (NR_SLOTS - 1);
}

/* gfn's slot: the one holding it, or the free one where it would go. */
static struct slot *slot_of(struct page_cache *pc, uint64_t gfn)
{
	uint32_t i = hash(gfn);

	while (pc->slots[i].gen == pc->gen && pc->slots[i].gfn != gfn)
		i = (i + 1) & (NR_SLOTS - 1);
	return &pc->slots[i];
}

static int allocate(struct page_cache *pc)
{
	if (!pc->slots)
		pc->slots = calloc(NR_SLOTS, sizeof(*pc->slots));
	if (!pc->pool)
		pc->pool = malloc(MAX_PAGES * PAGE_SIZE);
	if (!pc->fetch)
		pc->fetch = malloc(sizeof(*pc->fetch) * MAX_PAGES);
	if (!pc->used)
		pc->used = malloc(MAX_PAGES);
	return pc->slots && pc->pool && pc->fetch && pc->used ? 0 : -ENOMEM;
}

/* Whether gfn lies wholly inside one RAM range (the pages we may fetch). */
static int whole_page_in_ram(const struct kh_vm *vm, uint64_t gfn)
{
	uint64_t gpa = gfn << PAGE_SHIFT;
	const struct kh_ram_range *range = kh_layout_find(&vm->layout, gpa);

	return range && range->gpa + range->size - gpa >= PAGE_SIZE;
}

/*
 * Whether the cache could hold all of r: not empty, not large, and not
 * wrapping past the top of the address space (its last page would come
 * before its first).
 */
static int small(const struct kh_read *r)
{
	return r->len && r->len <= MAX_CACHED_READ &&
	       r->addr + r->len - 1 >= r->addr;
}

static int cacheable(const struct kh_vm *vm, const struct kh_read *r)
{
	uint64_t gfn;

	if (!small(r))
		return 0;
	for (gfn = r->addr >> PAGE_SHIFT;
	     gfn <= (r->addr + r->len - 1) >> PAGE_SHIFT; gfn++)
		if (!whole_page_in_ram(vm, gfn))
			return 0;
	return 1;
}

/*
 * Every page of every read still marked MISS, read by read; "continue"
 * in the body goes on to the next page.
 */
#define for_each_missed_page(reads, nr, i, gfn)				\
	for ((i) = 0; (i) < (nr); (i)++)					\
		for ((gfn) = (reads)[i].addr >> PAGE_SHIFT;			\
		     (reads)[i].result == MISS &&				\
		     (gfn) <= ((reads)[i].addr + (reads)[i].len - 1) >> PAGE_SHIFT; \
		     (gfn)++)

/*
 * At most how many pages reads[0..nr) would add: the pages of each MISS,
 * all of them (after forget) or those not cached yet. A page two reads
 * share counts twice; distinct_pages_to_add counts it once.
 */
static uint64_t pages_to_add(struct page_cache *pc,
			     const struct kh_read *reads, unsigned int nr,
			     int all)
{
	uint64_t pages = 0, gfn;
	unsigned int i;

	for_each_missed_page(reads, nr, i, gfn)
		pages += all || slot_of(pc, gfn)->gen != pc->gen;
	return pages;
}

static int by_gfn(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;

	return (*x > *y) - (*x < *y);
}

/*
 * pages_to_add without counting twice a page that reads share, for a
 * batch whose quick count said it would not fit: a thousand reads of one
 * new page add one page, not a thousand (which would forget the pool for
 * nothing). Out of memory, the quick count stands: too many is safe.
 */
static uint64_t distinct_pages_to_add(struct page_cache *pc,
				      const struct kh_read *reads,
				      unsigned int nr, int all)
{
	uint64_t quick = pages_to_add(pc, reads, nr, all), n = 0, distinct = 0;
	uint64_t *gfns = malloc(sizeof(*gfns) * (quick ? quick : 1)), gfn, i;

	if (!gfns)
		return quick;
	for_each_missed_page(reads, nr, i, gfn)
		if (all || slot_of(pc, gfn)->gen != pc->gen)
			gfns[n++] = gfn;
	qsort(gfns, n, sizeof(*gfns), by_gfn);
	for (i = 0; i < n; i++)
		distinct += !i || gfns[i] != gfns[i - 1];
	free(gfns);
	return distinct;
}

static int by_addr(const void *a, const void *b)
{
	const struct kh_read *x = a, *y = b;

	return (x->addr > y->addr) - (x->addr < y->addr);
}

/*
 * Copies read r out of cached pages: 0, -EFAULT if one failed, or MISS
 * if one is not cached (then nothing was copied).
 */
static int copy_out(struct page_cache *pc, struct kh_read *r)
{
	uint64_t addr = r->addr, left = r->len, gfn;
	uint8_t *buf = r->buf;

	if (!small(r))
		return MISS;
	for (gfn = addr >> PAGE_SHIFT;
	     gfn <= (addr + left - 1) >> PAGE_SHIFT; gfn++) {
		const struct slot *s = slot_of(pc, gfn);

		if (s->gen != pc->gen)
			return MISS;
		if (s->page == FAILED)
			return -EFAULT;
	}
	while (left) {
		struct slot *s = slot_of(pc, addr >> PAGE_SHIFT);
		uint64_t off = addr & (PAGE_SIZE - 1);
		uint64_t n = PAGE_SIZE - off < left ? PAGE_SIZE - off : left;

		memcpy(buf, pc->pool + s->page * PAGE_SIZE + off, n);
		pc->used[s->page] |= !pc->prefetching;
		addr += n;
		buf += n;
		left -= n;
	}
	return 0;
}

/*
 * The reads the cache does not take (result DIRECT), in one read of their
 * own: how many failed, or -errno.
 */
static int direct(struct kh_vm *vm, kh_access_read_fn read,
		  struct kh_read *reads, unsigned int nr)
{
	struct kh_read *batch;
	unsigned int i, n = 0;
	int ret;

	for (i = 0; i < nr; i++)
		n += reads[i].result == DIRECT;
	if (!n)
		return 0;
	batch = malloc(sizeof(*batch) * n);
	if (!batch)
		return -ENOMEM;
	for (i = 0, n = 0; i < nr; i++)
		if (reads[i].result == DIRECT)
			batch[n++] = reads[i];
	ret = read(&vm->acc, batch, n);
	for (i = 0, n = 0; i < nr; i++)
		if (reads[i].result == DIRECT)
			reads[i].result = ret < 0 ? ret : batch[n++].result;
	free(batch);
	return ret;
}

/* A batch that failed as a whole: no read is left with a sentinel. */
static int fail(struct kh_read *reads, unsigned int nr, int err)
{
	unsigned int i;

	for (i = 0; i < nr; i++)
		if (reads[i].result == MISS || reads[i].result == DIRECT)
			reads[i].result = err;
	return err;
}

/*
 * The pages of the misses, each once, as whole-page reads into the pool
 * (the caller made room for them): 0 or -errno.
 */
static int fetch_misses(struct kh_vm *vm, kh_access_read_fn read,
			struct page_cache *pc, const struct kh_read *reads,
			unsigned int nr)
{
	unsigned int i, nr_fetch = 0;
	uint64_t gfn;
	int ret;

	for_each_missed_page(reads, nr, i, gfn) {
		struct slot *s = slot_of(pc, gfn);

		if (s->gen == pc->gen)
			continue;
		s->gfn = gfn;
		s->gen = pc->gen;
		s->page = pc->nr_pages++;
		pc->used[s->page] = 0;
		pc->fetch[nr_fetch++] = (struct kh_read){
			.addr = gfn << PAGE_SHIFT,
			.buf = pc->pool + s->page * PAGE_SIZE,
			.len = PAGE_SIZE,
		};
	}
	if (!nr_fetch)
		return 0;
	/* In address order, so that runs of pages are one read. */
	qsort(pc->fetch, nr_fetch, sizeof(*pc->fetch), by_addr);
	ret = read(&vm->acc, pc->fetch, nr_fetch);
	if (ret < 0) {
		forget(pc);
		return ret;
	}
	for (i = 0; i < nr_fetch && ret; i++)
		if (pc->fetch[i].result)
			slot_of(pc, pc->fetch[i].addr >> PAGE_SHIFT)->page =
				FAILED;
	return 0;
}

int kh_page_cache_read(struct kh_vm *vm, kh_access_read_fn read,
		       struct kh_read *reads, unsigned int nr)
{
	struct page_cache *pc = current(vm);
	unsigned int i, failed = 0, missed = 0;
	int ret;

	if (!pc || allocate(pc))
		return read(&vm->acc, reads, nr);
	/*
	 * Hits first: most reads of a crawl are, and the layout need not
	 * be asked about a page the cache holds (finding the range and the
	 * slot three times a read was a fifth of a crawl through pvreadv).
	 */
	for (i = 0; i < nr; i++) {
		reads[i].result = copy_out(pc, &reads[i]);
		if (reads[i].result == MISS) {
			if (!cacheable(vm, &reads[i]))
				reads[i].result = DIRECT;
			missed++;
		} else {
			failed += !!reads[i].result;
		}
	}
	if (!missed)
		return (int)failed;
	if (pages_to_add(pc, reads, nr, 0) > MAX_PAGES - pc->nr_pages &&
	    distinct_pages_to_add(pc, reads, nr, 0) > MAX_PAGES - pc->nr_pages) {
		int first, second;

		/*
		 * Pages cached before this batch are not needed by it once
		 * fetched again, but then every page of every miss is: a
		 * batch too big for the pool even so goes in halves (a read
		 * the cache takes spans at most 5 pages). The pool and the
		 * fetch list hold MAX_PAGES, and the slot table stays half
		 * free, which ends every probe.
		 */
		if (nr > 1 && distinct_pages_to_add(pc, reads, nr, 1) > MAX_PAGES) {
			first = kh_page_cache_read(vm, read, reads, nr / 2);
			if (first < 0)
				return fail(reads + nr / 2, nr - nr / 2,
					    first);
			second = kh_page_cache_read(vm, read, reads + nr / 2,
						    nr - nr / 2);
			return second < 0 ? second : first + second;
		}
		forget(pc);
	}
	ret = fetch_misses(vm, read, pc, reads, nr);
	if (ret < 0)
		return fail(reads, nr, ret);
	for (i = 0; i < nr; i++) {
		if (reads[i].result != MISS)
			continue;
		reads[i].result = copy_out(pc, &reads[i]);
		failed += !!reads[i].result;
	}
	ret = direct(vm, read, reads, nr);
	return ret < 0 ? fail(reads, nr, ret) : (int)failed + ret;
}

int kh_page_cache_refresh(struct kh_vm *vm, const uint64_t *gpas,
			  unsigned int nr)
{
	struct page_cache *pc = current(vm);
	unsigned int i, n = 0;
	int ret;

	if (!pc || !kh_page_cache_on(vm) || !pc->fetch)
		return 0;
	for (i = 0; i < nr && n < MAX_PAGES; i++) {
		struct slot *s = slot_of(pc, gpas[i] >> PAGE_SHIFT);
		unsigned int j;

		if (s->gen != pc->gen || s->page == FAILED)
			continue;
		for (j = 0; j < n; j++)
			if (pc->fetch[j].addr == s->gfn << PAGE_SHIFT)
				break;
		if (j < n)
			continue;
		pc->fetch[n++] = (struct kh_read){
			.addr = s->gfn << PAGE_SHIFT,
			.buf = pc->pool + s->page * PAGE_SIZE,
			.len = PAGE_SIZE };
	}
	if (!n)
		return 0;
	ret = vm->acc.ops->read(&vm->acc, pc->fetch, n);
	if (ret < 0) {
		forget(pc);
		return ret;
	}
	for (i = 0; i < n && ret; i++)
		if (pc->fetch[i].result)
			slot_of(pc, pc->fetch[i].addr >> PAGE_SHIFT)->page =
				FAILED;
	return 0;
}

int kh_page_cache_pages(const struct kh_vm *vm, uint64_t **gfnsp,
			unsigned int *nrp)
{
	const struct page_cache *pc = current(vm);
	unsigned int i, n = 0;
	uint64_t *gfns;

	*gfnsp = NULL;
	*nrp = 0;
	if (!pc || !pc->slots || !pc->nr_pages)
		return 0;
	gfns = malloc(sizeof(*gfns) * pc->nr_pages);
	if (!gfns)
		return -ENOMEM;
	for (i = 0; i < NR_SLOTS && n < pc->nr_pages; i++)
		if (pc->slots[i].gen == pc->gen &&
		    pc->slots[i].page != FAILED && pc->used[pc->slots[i].page])
			gfns[n++] = pc->slots[i].gfn;
	*gfnsp = gfns;
	*nrp = n;
	return 0;
}

int kh_page_cache_prefetch(struct kh_vm *vm, const uint64_t *gfns,
			   unsigned int nr)
{
	struct page_cache *pc = current(vm);
	struct kh_read *reads;
	unsigned int i, n = 0;
	uint8_t byte;
	int ret;

	if (!nr || !kh_page_cache_on(vm) || !vm->acc.ops->batches)
		return 0;
	if (nr > MAX_PAGES)
		nr = MAX_PAGES;
	reads = malloc(sizeof(*reads) * nr);
	if (!reads)
		return 0;
	/* A byte of each brings its page (one no longer in RAM: none). */
	for (i = 0; i < nr; i++)
		if (whole_page_in_ram(vm, gfns[i]))
			reads[n++] = (struct kh_read){
				.addr = gfns[i] << PAGE_SHIFT, .buf = &byte,
				.len = 1 };
	pc->prefetching = 1;
	ret = n ? kh_page_cache_read(vm, vm->acc.ops->read, reads, n) : 0;
	pc->prefetching = 0;
	free(reads);
	return ret == -ESRCH ? ret : 0;
}

int kh_tlb_find(const struct kh_vm *vm, uint64_t va, uint64_t *gpa,
		uint64_t *page_size)
{
	struct page_cache *pc = current(vm);
	uint64_t vpn = va >> PAGE_SHIFT;
	struct tlb_entry *e;

	if (!pc)
		return 0;
	e = &pc->tlb[vpn & (TLB_SIZE - 1)];
	if (e->gen != pc->gen || e->vpn != vpn)
		return 0;
	*gpa = e->gpa;
	*page_size = e->page_size;
	return 1;
}

void kh_tlb_put(const struct kh_vm *vm, uint64_t va, uint64_t gpa,
		uint64_t page_size)
{
	struct page_cache *pc = current(vm);
	uint64_t vpn = va >> PAGE_SHIFT;
	struct tlb_entry *e;

	if (!pc)
		return;
	e = &pc->tlb[vpn & (TLB_SIZE - 1)];
	e->vpn = vpn;
	e->gpa = gpa & ~(PAGE_SIZE - 1);
	e->page_size = page_size;
	e->gen = pc->gen;
}
