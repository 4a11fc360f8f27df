// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: the walkers' scratch memory (broker/lib/walk/scratch.c) gives
 * aligned, disjoint allocations that keep their bytes until their mark is
 * released; marks nest (an inner release leaves the outer allocations
 * alone); grow keeps the contents, in place or copied; allocations past
 * the first block and larger than it work and are given back; a size
 * that overflows is refused, zero bytes are not; and each thread has its
 * own scratch.
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "walk/scratch.h"

static void fill(void *p, size_t n, int c)
{
	memset(p, c, n);
}

static int all(const void *p, size_t n, int c)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i] != (uint8_t)c)
			return 0;
	return 1;
}

static void test_alloc_and_nesting(void)
{
	struct kh_scratch_mark outer = kh_scratch_mark(), inner;
	uint8_t *a, *b, *c, *d;

	a = kh_scratch_alloc(3);
	b = kh_scratch_alloc(100);
	CHECK(a && b, "small allocations failed");
	CHECK(((uintptr_t)a | (uintptr_t)b) % 16 == 0, "not 16-aligned");
	CHECK(b >= a + 3 || a >= b + 100, "allocations overlap");
	fill(a, 3, 0xa1);
	fill(b, 100, 0xb2);

	inner = kh_scratch_mark();
	c = kh_scratch_zalloc(5000);
	CHECK(c && all(c, 5000, 0), "zalloc not zeroed");
	fill(c, 5000, 0xc3);
	/* Past the first block: a new block, released with the inner mark. */
	d = kh_scratch_alloc(1 << 20);
	CHECK(d, "an allocation larger than a block failed");
	fill(d, 1 << 20, 0xd4);
	CHECK(all(c, 5000, 0xc3), "a later allocation overwrote an earlier one");
	kh_scratch_release(inner);

	CHECK(all(a, 3, 0xa1) && all(b, 100, 0xb2),
	      "an inner release damaged the outer allocations");
	c = kh_scratch_alloc(64);
	CHECK(c, "allocation after release failed");
	fill(c, 64, 0xe5);
	CHECK(all(b, 100, 0xb2), "reused memory overlaps a live allocation");
	kh_scratch_release(outer);
}

static void test_grow(void)
{
	struct kh_scratch_mark mark = kh_scratch_mark();
	uint8_t *p, *q, *other;
	size_t n;

	p = kh_scratch_grow(NULL, 0, 32);
	CHECK(p, "grow from nothing failed");
	fill(p, 32, 0x11);
	/* The latest allocation: grown where it is, or copied whole. */
	for (n = 32; n < (256u << 10); n *= 2) {
		q = kh_scratch_grow(p, n, 2 * n);
		CHECK(q, "grow to %zu failed", 2 * n);
		CHECK(all(q, 32, 0x11), "grow to %zu lost the contents", 2 * n);
		p = q;
	}
	other = kh_scratch_alloc(16);
	fill(other, 16, 0x22);
	/* Not the latest any more: copied, and the other one untouched. */
	q = kh_scratch_grow(p, 32, 64);
	CHECK(q && q != p && all(q, 32, 0x11), "grow of an older allocation");
	CHECK(all(other, 16, 0x22), "grow overwrote a later allocation");
	kh_scratch_release(mark);
}

static void test_refusals(void)
{
	struct kh_scratch_mark mark = kh_scratch_mark();

	CHECK(!kh_scratch_alloc(SIZE_MAX), "SIZE_MAX was allocated");
	CHECK(!kh_scratch_alloc(SIZE_MAX - 8), "SIZE_MAX - 8 was allocated");
	CHECK(kh_scratch_alloc(0), "zero bytes gave NULL");
	kh_scratch_release(mark);
}

static void *other_thread(void *arg)
{
	struct kh_scratch_mark mark = kh_scratch_mark();
	uint8_t *p = kh_scratch_alloc(4096);

	(void)arg;
	if (p)
		fill(p, 4096, 0x77);
	/* Left unreleased on purpose: the thread's exit frees it. */
	(void)mark;
	return p;
}

static void test_threads(void)
{
	struct kh_scratch_mark mark = kh_scratch_mark();
	uint8_t *mine = kh_scratch_alloc(4096);
	pthread_t t;
	void *theirs;

	CHECK(mine, "allocation failed");
	fill(mine, 4096, 0x55);
	CHECK(!pthread_create(&t, NULL, other_thread, NULL), "pthread_create");
	CHECK(!pthread_join(t, &theirs), "pthread_join");
	CHECK(theirs, "the other thread's allocation failed");
	CHECK(all(mine, 4096, 0x55), "another thread's scratch overlapped ours");
	kh_scratch_release(mark);
}

int main(void)
{
	int round;

	/* Twice: the second round runs on the block the first one kept. */
	for (round = 0; round < 2; round++) {
		test_alloc_and_nesting();
		test_grow();
		test_refusals();
	}
	test_threads();
	return KH_PASS;
}
