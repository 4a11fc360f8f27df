// SPDX-License-Identifier: GPL-2.0-only
/*
 * kh_pgtable_walk over 4- and 5-level tables this test builds in a fake
 * guest-physical memory: 4 KiB, 2 MiB and 1 GiB pages, rights aggregated
 * along the walk, holes, non-canonical addresses, tables outside memory
 * and a table that points back at the root.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "kernel/pgtable.h"

#define MEM_PAGES	64
#define P	(1ULL << 0)
#define RW	(1ULL << 1)
#define US	(1ULL << 2)
#define PS	(1ULL << 7)
#define NX	(1ULL << 63)

static uint64_t mem[MEM_PAGES * 512];
static unsigned int next_page = 1;	/* page 0 stays unused */
static unsigned int reads;

static int rd(void *opaque, uint64_t gpa, uint64_t *e)
{
	reads++;
	if (gpa % 8 || gpa >= sizeof(mem))
		return -ERANGE;	/* distinct, to see it propagate */
	*e = mem[gpa / 8];
	return 0;
}

static uint64_t new_table(void)
{
	CHECK(next_page < MEM_PAGES, "out of fake memory");
	return (uint64_t)next_page++ * 4096;
}

static uint64_t *slot(uint64_t table, uint64_t va, unsigned int level)
{
	return &mem[table / 8 + ((va >> (12 + 9 * (level - 1))) & 511)];
}

/*
 * Maps va to pa with a page of 4 KiB (stop 1), 2 MiB (2) or 1 GiB (3),
 * creating tables as needed; tflags go on the table entries on the way.
 */
static void map(uint64_t root, unsigned int levels, uint64_t va, uint64_t pa,
		unsigned int stop, uint64_t flags, uint64_t tflags)
{
	uint64_t table = root;
	unsigned int level;

	for (level = levels; level > stop; level--) {
		uint64_t *s = slot(table, va, level);

		if (!(*s & P))
			*s = new_table() | tflags;
		table = *s & 0x000ffffffffff000ULL;
	}
	*slot(table, va, stop) = pa | flags | (stop > 1 ? PS : 0);
}

static void walk_ok(uint64_t root, unsigned int levels, uint64_t va,
		    uint64_t gpa, uint64_t size, int w, int u, int nx)
{
	struct kh_xlate x;
	int ret;

	memset(&x, 0xaa, sizeof(x));
	ret = kh_pgtable_walk(rd, NULL, root, levels, va, &x);
	CHECK(ret == 0, "va %#llx: %d", (unsigned long long)va, ret);
	CHECK(x.gpa == gpa, "va %#llx -> %#llx, want %#llx",
	      (unsigned long long)va, (unsigned long long)x.gpa,
	      (unsigned long long)gpa);
	CHECK(x.page_size == size, "va %#llx size %#llx",
	      (unsigned long long)va, (unsigned long long)x.page_size);
	CHECK(x.writable == w && x.user == u && x.nx == nx,
	      "va %#llx rights w%d u%d nx%d", (unsigned long long)va,
	      x.writable, x.user, x.nx);
}

static void walk_err(uint64_t root, unsigned int levels, uint64_t va,
		     int want)
{
	struct kh_xlate x;
	int ret = kh_pgtable_walk(rd, NULL, root, levels, va, &x);

	CHECK(ret == want, "va %#llx: %d, want %d", (unsigned long long)va,
	      ret, want);
}

static void test_4level(void)
{
	uint64_t root = new_table();
	uint64_t cr3 = root | 0x18;	/* PWT|PCD: flag bits are ignored */
	uint64_t k = 0xffffffff81234567ULL;
	uint64_t d = 0xffff888000201234ULL, g = 0xffff888040123456ULL;

	/* Kernel text, 4 KiB, read-only and executable. */
	map(root, 4, k, 0x12345000, 1, P, P | RW);
	walk_ok(cr3, 4, k, 0x12345567, 4096, 0, 0, 0);
	/* Direct map: a 2 MiB page (with PAT, bit 12, set), a 1 GiB one. */
	map(root, 4, d, 0x40000000 | (1ULL << 12), 2, P | RW | NX, P | RW);
	walk_ok(root, 4, d, 0x40001234, 2 << 20, 1, 0, 1);
	map(root, 4, g, 0x80000000, 3, P | RW, P | RW);
	walk_ok(root, 4, g, 0x80123456, 1 << 30, 1, 0, 0);
	/* User pages: US must be set at every level. */
	map(root, 4, 0x400000, 0x5000, 1, P | RW | US, P | RW | US);
	walk_ok(root, 4, 0x400123, 0x5123, 4096, 1, 1, 0);
	map(root, 4, 0x401000, 0x6000, 1, P | RW, P | RW | US);
	walk_ok(root, 4, 0x401fff, 0x6fff, 4096, 1, 0, 0);
	/* NX on a table entry applies to everything below it. */
	*slot(root, 0x400000, 4) |= NX;
	walk_ok(root, 4, 0x400000, 0x5000, 4096, 1, 1, 1);

	/* Holes at each level. */
	walk_err(root, 4, 0xffffa00000000000ULL, -EFAULT);	/* PML4 */
	walk_err(root, 4, 0xffffffff40000000ULL, -EFAULT);	/* PDPT */
	walk_err(root, 4, 0xffffffff81400000ULL, -EFAULT);	/* PD */
	walk_err(root, 4, 0xffffffff81235000ULL, -EFAULT);	/* PT */
	/* Non-canonical, and bad arguments. */
	walk_err(root, 4, 0x0000800000000000ULL, -EINVAL);
	walk_err(root, 4, 0xffff7fffffffffffULL, -EINVAL);
	walk_err(root, 3, k, -EINVAL);
	CHECK(kh_pgtable_walk(NULL, NULL, root, 4, k, NULL) == -EINVAL,
	      "NULL reader");
	/* PS in a PML4 entry is reserved. */
	*slot(root, 0x0000100000000000ULL, 4) = 0x40000000 | P | PS;
	walk_err(root, 4, 0x0000100000000000ULL, -EFAULT);
	/* A table outside memory: the reader's error comes back. */
	*slot(root, 0x0000200000000000ULL, 4) = 0x7ff00000000ULL | P;
	walk_err(root, 4, 0x0000200000000000ULL, -ERANGE);
	walk_err((uint64_t)MEM_PAGES * 4096, 4, k, -ERANGE);

	/* A loop: entry 5 of the root points at the root. The walk takes
	 * one step per level, so it ends, at the root page itself. */
	*slot(root, 5ULL << 39, 4) = root | P | RW;
	reads = 0;
	walk_ok(root, 4, 5ULL << 39 | 5ULL << 30 | 5ULL << 21 | 5ULL << 12 |
		0x10, root | 0x10, 4096, 1, 0, 0);
	CHECK(reads == 4, "%u reads", reads);
}

static void test_5level(void)
{
	uint64_t root = new_table();
	uint64_t k = 0xff11000012345678ULL;	/* canonical in 57 bits */
	uint64_t lo = 0x0000800000001000ULL;	/* not in 48, fine in 57 */

	map(root, 5, k, 0x2222000, 1, P | RW | NX, P | RW);
	walk_ok(root, 5, k, 0x2222678, 4096, 1, 0, 1);
	map(root, 5, 0xff11000040000000ULL, 0xc0000000, 3, P | RW, P | RW);
	walk_ok(root, 5, 0xff110000400abcdeULL, 0xc00abcde, 1 << 30, 1, 0, 0);
	map(root, 5, 0xff11000080000000ULL, 0x1000000, 2, P, P | RW);
	walk_ok(root, 5, 0xff11000080012345ULL, 0x1012345, 2 << 20, 0, 0, 0);
	map(root, 5, lo, 0x3000, 1, P | RW | US, P | RW | US);
	walk_ok(root, 5, lo, 0x3000, 4096, 1, 1, 0);
	walk_err(root, 4, lo, -EINVAL);
	walk_err(root, 5, 0x0100000000000000ULL, -EINVAL);
	walk_err(root, 5, 0xfe00000000000000ULL, -EINVAL);
	walk_err(root, 5, 0xff12000000000000ULL, -EFAULT);	/* PML5 */
	/* A loop through the PML5. */
	*slot(root, 7ULL << 48, 5) = root | P;
	reads = 0;
	walk_ok(root, 5, 7ULL << 48 | 7ULL << 39 | 7ULL << 30 | 7ULL << 21 |
		7ULL << 12, root, 4096, 0, 0, 0);
	CHECK(reads == 5, "%u reads", reads);
}

/* Steps a walk of va to its end; returns the last step's result. */
static int step_walk(uint64_t root, uint64_t va, struct kh_pgwalk *w,
		     uint64_t *e, struct kh_xlate *x)
{
	int ret = kh_pgwalk_start(w, root, 4, va);

	while (!ret) {
		CHECK(!rd(NULL, kh_pgwalk_entry(w), e), "entry read");
		ret = kh_pgwalk_step(w, *e, x);
		if (ret == 1)
			ret = 0;
		else
			break;
	}
	return ret;
}

/*
 * PROT_NONE and NUMA hinting entries: not present to the MMU, in RAM to
 * the kernel, their frame stored inverted (the L1TF fix); a swap entry
 * (bit 8 clear) and a non-leaf entry are not pages.
 */
static void test_protnone(void)
{
	uint64_t root = new_table(), va = 0x7f0000001000ULL, e, table;
	uint64_t *pte;
	struct kh_pgwalk w;
	struct kh_xlate x;
	unsigned int level;

	map(root, 4, va, 0x5000, 1, P | US, P | RW | US);
	for (table = root, level = 4; level > 1; level--)
		table = *slot(table, va, level) & 0x000ffffffffff000ULL;
	pte = slot(table, va, 1);

	/* What change_prot_numa() leaves: PROTNONE, no P, frame inverted. */
	*pte = (~0x5000ULL & 0x000ffffffffff000ULL) | (1ULL << 8) | (1ULL << 5);
	CHECK(step_walk(root, va + 0x123, &w, &e, &x) == -EFAULT,
	      "a PROT_NONE entry is not present to the walk");
	CHECK(!kh_pgwalk_protnone(&w, e, &x) && x.gpa == 0x5123 &&
	      x.page_size == 4096 && x.user,
	      "PROT_NONE page read at %#llx", (unsigned long long)x.gpa);

	/* A swap entry keeps bit 8 clear: no page. */
	*pte = 0x3ffff0000ULL << 9 | 0x2;
	CHECK(step_walk(root, va, &w, &e, &x) == -EFAULT &&
	      kh_pgwalk_protnone(&w, e, &x) == -EFAULT, "a swap entry");
	/* An empty entry, and a present one (no failed step to look at). */
	*pte = 0;
	CHECK(step_walk(root, va, &w, &e, &x) == -EFAULT &&
	      kh_pgwalk_protnone(&w, e, &x) == -EFAULT, "an empty entry");
	/* A PROTNONE bit on a table entry is no page. */
	*pte = 0x5000 | P | US;
	table = *slot(root, va, 4) & 0x000ffffffffff000ULL;
	*slot(table, va, 3) = (1ULL << 8);
	CHECK(step_walk(root, va, &w, &e, &x) == -EFAULT &&
	      kh_pgwalk_protnone(&w, e, &x) == -EFAULT,
	      "bit 8 on a PUD entry");
}

int main(void)
{
	test_4level();
	test_5level();
	test_protnone();
	return KH_PASS;
}
