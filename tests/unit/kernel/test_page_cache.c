// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: kh_page_cache_read (broker/lib/kernel/page_cache.c) gives every
 * read the bytes and result the technique itself gives, through random
 * batches of hits, misses, reads too big to cache, reads across a range's
 * partial last page and pages that fail; that a batch whose misses fill
 * the pool past its size while the pool is nearly full is served with
 * never more than a pool of pages fetched at once (it once overflowed the
 * pool and the fetch list); that many reads of one new page do not make
 * a nearly full pool forget what it holds; that a read wrapping past the top of the
 * address space goes to the technique whole; that a technique that
 * fails the whole batch leaves no read with the cache's working marks;
 * and that read-ahead, where reads batch, is off from the scope that
 * turned it off until that scope ends.
 *
 * The technique here is a function over a pattern, the boundary the
 * cache sits on: what is checked is the cache, not a guest.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fake_vm.h"
#include "kernel/page_cache.h"
#include "vm.h"

#define PAGE		4096ULL
#define POOL_PAGES	KH_PAGE_CACHE_PAGES
#define LOW_SIZE	(64ULL << 20)
#define HIGH_SIZE	((8ULL << 20) + 100)	/* a partial last page */
#define TOP		(UINT64_MAX - 2 * PAGE + 1)

static struct kh_vm vm;
static struct kh_access_ops ops;
static int whole_batch_error;		/* the technique fails everything */
static int outside_fails;		/* not a contract break: -EFAULT */
static unsigned long page_reads, wrapped_reads;

static int bad_page(uint64_t gfn)
{
	return gfn % 37 == 5;
}

static uint8_t pattern(uint64_t addr)
{
	return (uint8_t)(addr * 31 + (addr >> 12));
}

static int in_ram(uint64_t addr, uint64_t len)
{
	unsigned int i;

	for (i = 0; i < vm.layout.nr; i++) {
		const struct kh_ram_range *r = &vm.layout.range[i];

		if (addr >= r->gpa && addr - r->gpa < r->size &&
		    len <= r->size - (addr - r->gpa))
			return 1;
	}
	return 0;
}

static int technique_read(struct kh_access *acc, struct kh_read *reads,
			  unsigned int nr)
{
	unsigned int i, pages = 0;
	int failed = 0;

	(void)acc;
	if (whole_batch_error)
		return -ESRCH;
	for (i = 0; i < nr; i++) {
		struct kh_read *r = &reads[i];
		uint64_t k;

		CHECK(r->len, "the technique was asked for 0 bytes");
		if (r->addr + r->len - 1 < r->addr)
			wrapped_reads++;
		if (outside_fails && !in_ram(r->addr, r->len)) {
			r->result = -EFAULT;
			failed++;
			continue;
		}
		CHECK(in_ram(r->addr, r->len),
		      "the technique was asked for %#llx+%llu, outside RAM",
		      (unsigned long long)r->addr,
		      (unsigned long long)r->len);
		if (r->len == PAGE && !(r->addr & (PAGE - 1)))
			pages++;
		r->result = 0;
		for (k = 0; k < r->len; k++) {
			if (bad_page((r->addr + k) >> 12)) {
				r->result = -EFAULT;
				break;
			}
			((uint8_t *)r->buf)[k] = pattern(r->addr + k);
		}
		failed += !!r->result;
	}
	/* The cache fetches into its pool through one list of that size. */
	CHECK(pages <= POOL_PAGES, "one read fetched %u pages", pages);
	page_reads += pages;
	return failed;
}

static uint64_t rnd(void)
{
	static uint64_t x = 88172645463325252ULL;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return x;
}

/* A read anywhere in RAM, mostly small, some too big to cache. */
static void random_read(struct kh_read *r, uint8_t *buf)
{
	uint64_t base = rnd() & 1 ? 0 : LOW_SIZE;
	uint64_t span = base ? HIGH_SIZE : (rnd() % 3 ? 256 * PAGE : LOW_SIZE);
	unsigned int kind = rnd() % 10;
	uint64_t len = kind < 5 ? 1 + rnd() % 16 :
		       kind < 8 ? 1 + rnd() % (4 * PAGE) :
				  4 * PAGE + 1 + rnd() % (2 * PAGE);

	r->addr = base + rnd() % span;
	if (!in_ram(r->addr, len))
		len = base + span - r->addr;
	*r = (struct kh_read){ .addr = r->addr, .buf = buf, .len = len,
			       .result = 0x5a5a };
}

/* Every read of a batch as the technique gives it. */
static void same_as_technique(const struct kh_read *reads, unsigned int nr,
			      int ret, const char *what)
{
	static uint8_t want[6 * PAGE];
	unsigned int i, failed = 0;

	for (i = 0; i < nr; i++) {
		struct kh_read r = reads[i];

		r.buf = want;
		r.result = 0x5a5a;
		technique_read(NULL, &r, 1);
		CHECK(reads[i].result == r.result,
		      "%s: read %u (%#llx+%llu): result %d, the technique's %d",
		      what, i, (unsigned long long)r.addr,
		      (unsigned long long)r.len, reads[i].result, r.result);
		CHECK(r.result || !memcmp(reads[i].buf, want, r.len),
		      "%s: read %u (%#llx+%llu): other bytes than the technique's",
		      what, i, (unsigned long long)r.addr,
		      (unsigned long long)r.len);
		failed += !!r.result;
	}
	CHECK(ret == (int)failed, "%s: %d failed, the cache says %d", what,
	      failed, ret);
}

static void random_batches(void)
{
	enum { MAX_NR = 3000 };
	static uint8_t bufs[MAX_NR][6 * PAGE];
	struct kh_read *reads = calloc(MAX_NR, sizeof(*reads));
	unsigned int it, i;

	CHECK(reads, "out of memory");
	for (it = 0; it < 2000; it++) {
		unsigned int nr = 1 + rnd() % (it % 50 ? 40 : MAX_NR);
		int ret;

		for (i = 0; i < nr; i++)
			random_read(&reads[i], bufs[i]);
		if (it % 211 == 0)
			kh_vm_fresh(&vm);
		ret = kh_page_cache_read(&vm, technique_read, reads, nr);
		same_as_technique(reads, nr, ret, "random batch");
	}
	free(reads);
}

/*
 * The pool nearly full, then a batch of reads of five pages each of
 * which only the last is not cached: counting only uncached pages, it
 * fits; after forgetting, every page of it must be fetched, more than
 * the pool holds.
 */
static void pool_nearly_full(void)
{
	enum { NR = 1000 };
	static uint8_t bufs[NR][5 * PAGE], bytes[POOL_PAGES];
	struct kh_read *reads = calloc(POOL_PAGES, sizeof(*reads));
	unsigned int i, n = 0;
	uint64_t gfn;
	int ret;

	CHECK(reads, "out of memory");
	kh_vm_fresh(&vm);
	for (gfn = 0; n < POOL_PAGES - 96; gfn++)
		if (gfn % 5 != 4) {
			reads[n] = (struct kh_read){ .addr = gfn * PAGE,
						     .buf = &bytes[n], .len = 1 };
			n++;
		}
	ret = kh_page_cache_read(&vm, technique_read, reads, n);
	same_as_technique(reads, n, ret, "filling the pool");
	for (i = 0; i < NR; i++)
		reads[i] = (struct kh_read){ .addr = 5 * i * PAGE + 1,
					     .buf = bufs[i], .len = 4 * PAGE };
	page_reads = 0;
	ret = kh_page_cache_read(&vm, technique_read, reads, NR);
	same_as_technique(reads, NR, ret, "a batch bigger than the pool");
	CHECK(page_reads >= NR, "the batch fetched only %lu pages",
	      page_reads);
	free(reads);
}

/*
 * The pool nearly full, then a thousand reads of one page not cached:
 * one page to add, which fits. Counted once per read it would not, and
 * the cache would forget every page it held to make room for one.
 */
static void many_reads_one_page(void)
{
	enum { NR = 1000, HELD = POOL_PAGES - 8 };
	static uint8_t bytes[HELD + NR];
	struct kh_read *reads = calloc(HELD + NR, sizeof(*reads));
	unsigned int i;
	int ret;

	CHECK(reads, "out of memory");
	kh_vm_fresh(&vm);
	for (i = 0; i < HELD; i++)
		reads[i] = (struct kh_read){ .addr = i * PAGE, .buf = &bytes[i],
					     .len = 1 };
	ret = kh_page_cache_read(&vm, technique_read, reads, HELD);
	same_as_technique(reads, HELD, ret, "filling the pool");
	for (i = 0; i < NR; i++)
		reads[i] = (struct kh_read){ .addr = HELD * PAGE + i,
					     .buf = &bytes[HELD + i], .len = 1 };
	page_reads = 0;
	ret = kh_page_cache_read(&vm, technique_read, reads, NR);
	same_as_technique(reads, NR, ret, "a thousand reads of one page");
	CHECK(page_reads == 1, "one new page cost %lu page reads", page_reads);
	for (i = 0; i < HELD; i++)
		reads[i] = (struct kh_read){ .addr = i * PAGE, .buf = &bytes[i],
					     .len = 1 };
	page_reads = 0;
	ret = kh_page_cache_read(&vm, technique_read, reads, HELD);
	same_as_technique(reads, HELD, ret, "the pool read again");
	CHECK(page_reads == 0,
	      "the pool was forgotten for one page: %lu pages fetched again",
	      page_reads);
	free(reads);
}

/*
 * The engine keeps such a read from the cache (it lies in no RAM range),
 * but the cache must not take it either: its last page comes before its
 * first, and the pages between would never be looked up.
 */
static void wrapping_read(void)
{
	uint8_t buf[32];
	struct kh_read r = { .addr = UINT64_MAX - 15, .buf = buf,
			     .len = sizeof(buf), .result = 0x5a5a };
	int ret;

	wrapped_reads = 0;
	outside_fails = 1;
	ret = kh_page_cache_read(&vm, technique_read, &r, 1);
	CHECK(wrapped_reads == 1,
	      "a read wrapping past 2^64 was not passed on whole (%lu)",
	      wrapped_reads);
	same_as_technique(&r, 1, ret, "wrapping read");
	outside_fails = 0;
}

static void whole_batch_fails(void)
{
	static uint8_t bufs[4][8 * PAGE];
	struct kh_read reads[4] = {
		{ .addr = 3 * PAGE + 7, .buf = bufs[0], .len = 8 },
		{ .addr = 900 * PAGE, .buf = bufs[1], .len = 2 * PAGE },
		{ .addr = 1000 * PAGE, .buf = bufs[2], .len = 8 * PAGE },
		{ .addr = LOW_SIZE + HIGH_SIZE - 50, .buf = bufs[3],
		  .len = 40 },
	};
	unsigned int i;
	int ret;

	kh_vm_fresh(&vm);
	whole_batch_error = 1;
	ret = kh_page_cache_read(&vm, technique_read, reads, 4);
	whole_batch_error = 0;
	CHECK(ret == -ESRCH, "a failed technique gave %d", ret);
	for (i = 0; i < 4; i++)
		CHECK(reads[i].result == -ESRCH,
		      "read %u kept result %d when the technique failed", i,
		      reads[i].result);
}

/*
 * Read-ahead is asked for where reads batch, off from the scope that
 * turned it off until that scope ends (not the outermost), and never
 * outside a scope.
 */
static void read_ahead_scopes(void)
{
	ops.batches = 0;
	CHECK(!kh_page_cache_read_ahead(&vm),
	      "read-ahead asked for where reads do not batch");
	ops.batches = 1;
	CHECK(kh_page_cache_read_ahead(&vm), "no read-ahead where reads batch");
	kh_page_cache_begin(&vm);
	kh_page_cache_no_read_ahead(&vm);
	kh_page_cache_begin(&vm);
	CHECK(!kh_page_cache_read_ahead(&vm),
	      "read-ahead back on in a scope inside the one that turned it off");
	kh_page_cache_end(&vm);
	CHECK(!kh_page_cache_read_ahead(&vm),
	      "read-ahead back on when an inner scope ended");
	kh_page_cache_end(&vm);
	CHECK(kh_page_cache_read_ahead(&vm),
	      "read-ahead still off after the scope that turned it off ended");
	ops.batches = 0;
}

int main(void)
{
	const struct kh_ram_range ranges[] = {
		{ .gpa = 0, .size = LOW_SIZE },
		{ .gpa = LOW_SIZE, .size = HIGH_SIZE },	/* a partial last page */
		{ .gpa = TOP, .size = 2 * PAGE },
	};

	fake_vm(&vm, &ops, "pattern", technique_read, ranges, 3);
	kh_page_cache_begin(&vm);
	random_batches();
	pool_nearly_full();
	many_reads_one_page();
	wrapping_read();
	whole_batch_fails();
	read_ahead_scopes();
	kh_page_cache_end(&vm);
	CHECK(!kh_page_cache_read_ahead(&vm), "read-ahead outside a scope");
	return KH_PASS;
}
