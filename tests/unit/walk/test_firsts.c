// SPDX-License-Identifier: GPL-2.0-only
/*
 * Proves: kh_firsts (broker/lib/walk/firsts.c), which finds the open files
 * that share a struct file, names for every item the first with its key,
 * for no items, one, all equal, all distinct and a realistic mix; and
 * that keys a hostile guest chose to collide in its index are sorted
 * instead, with the same answer, while ordinary addresses never are.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "walk/firsts.h"
#include "walk/scratch.h"

/* Items as the open-file list has them: the key inside a larger struct. */
struct item {
	int32_t pid, fd;
	uint64_t addr;
	char pad[40];
};

/* The answer by brute force. */
static int agrees(const struct item *items, unsigned int nr,
		  const uint32_t *first)
{
	unsigned int i, j;

	for (i = 0; i < nr; i++) {
		for (j = 0; items[j].addr != items[i].addr; j++)
			;
		if (first[i] != j)
			return 0;
	}
	return 1;
}

static int run(struct item *items, unsigned int nr, int *ret)
{
	struct kh_scratch_mark mark = kh_scratch_mark();
	uint32_t *first = calloc(nr ? nr : 1, sizeof(*first));
	int ok;

	*ret = kh_firsts(&items[0].addr, sizeof(*items), nr, first);
	ok = *ret >= 0 && agrees(items, nr, first);
	kh_scratch_release(mark);
	free(first);
	return ok;
}

/* The slot kh_firsts' index gives key k among 2^bits slots. */
static unsigned int slot_of(uint64_t k, unsigned int bits)
{
	return (unsigned int)((k * 0x9e3779b97f4a7c15ULL) >> (64 - bits));
}

int main(void)
{
	enum { NR = 4096, BITS = 13 };	/* 2 * NR slots */
	struct item *items = calloc(NR, sizeof(*items));
	unsigned int i, n;
	uint64_t k;
	int ret;

	CHECK(items, "out of memory");
	CHECK(run(items, 0, &ret) && ret == 0, "no items: %d", ret);
	items[0].addr = 0xffff888003a41200ULL;
	CHECK(run(items, 1, &ret) && ret == 0, "one item: %d", ret);

	for (i = 0; i < NR; i++)
		items[i].addr = 0xffff888003a41200ULL;
	CHECK(run(items, NR, &ret) && ret == 0, "all equal: %d", ret);

	/* Struct files are 256 bytes apart in their slab. */
	for (i = 0; i < NR; i++)
		items[i].addr = 0xffff888004000000ULL + 256ULL * i;
	CHECK(run(items, NR, &ret) && ret == 0, "a slab's files: %d", ret);

	/* Most processes share stdin, stdout and stderr. */
	srand(1);
	for (i = 0; i < NR; i++)
		items[i].addr = 0xffff888004000000ULL +
				256ULL * (i % 3 ? (unsigned int)rand() % 64 : i);
	CHECK(run(items, NR, &ret) && ret == 0, "shared files: %d", ret);

	/* Every key in slot 0: the guest searched for them, as does this. */
	for (n = 0, k = 0xffff888004000000ULL; n < NR; k += 8)
		if (!slot_of(k, BITS))
			items[n++].addr = k;
	CHECK(run(items, NR, &ret) && ret == 1, "colliding keys: %d", ret);
	/* And some of them twice. */
	for (i = 0; i < NR; i += 7)
		items[i].addr = items[i / 2].addr;
	CHECK(run(items, NR, &ret) && ret == 1,
	      "colliding keys, some twice: %d", ret);

	free(items);
	return KH_PASS;
}
