// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * An open-addressing index of 1 + position, slots a power of two at least
 * twice the items, finds the first item with each key: sorting every open
 * file to find them was 4% of a crawl. The hash is fixed and the keys are
 * guest addresses, so a hostile guest can choose them to collide and make
 * the index quadratic: past PROBES_PER_ITEM probes an item on average, the
 * keys are sorted after all, which no choice of keys slows.
 */
#include <errno.h>
#include <stdlib.h>

#include "walk/firsts.h"
#include "walk/scratch.h"

#define PROBES_PER_ITEM	16u

struct keyed {
	uint64_t key;
	uint32_t pos;
};

static uint64_t key_at(const uint64_t *key, size_t stride, unsigned int i)
{
	return *(const uint64_t *)((const char *)key + stride * i);
}

static int by_key(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static int firsts_sorted(const uint64_t *key, size_t stride, unsigned int nr,
			 uint32_t *first)
{
	struct keyed *sorted = kh_scratch_alloc(sizeof(*sorted) * nr);
	unsigned int i, run = 0;

	if (!sorted)
		return -ENOMEM;
	for (i = 0; i < nr; i++)
		sorted[i] = (struct keyed){ key_at(key, stride, i), i };
	qsort(sorted, nr, sizeof(*sorted), by_key);
	/* Equal keys sort by position: a run's first is the first item. */
	for (i = 0; i < nr; i++) {
		if (sorted[i].key != sorted[run].key)
			run = i;
		first[sorted[i].pos] = sorted[run].pos;
	}
	return 1;
}

int kh_firsts(const uint64_t *key, size_t stride, unsigned int nr,
	      uint32_t *first)
{
	uint64_t probes = 0, budget = (uint64_t)PROBES_PER_ITEM * nr;
	unsigned int i, bits = 1, slots;
	uint32_t *index;

	if (!nr)
		return 0;
	if (nr > UINT32_MAX / 4)
		return -ENOMEM;
	while (1u << bits < 2 * nr)
		bits++;
	slots = 1u << bits;
	index = kh_scratch_zalloc(sizeof(*index) * slots);
	if (!index)
		return -ENOMEM;
	for (i = 0; i < nr; i++) {
		uint64_t k = key_at(key, stride, i);
		/* Fibonacci hashing: the product's top bits. */
		unsigned int slot = (unsigned int)((k * 0x9e3779b97f4a7c15ULL) >>
						   (64 - bits));

		first[i] = i;
		for (; index[slot]; slot = (slot + 1) & (slots - 1)) {
			if (key_at(key, stride, index[slot] - 1) == k) {
				first[i] = index[slot] - 1;
				break;
			}
			if (++probes > budget)
				return firsts_sorted(key, stride, nr, first);
		}
		if (first[i] == i)
			index[slot] = i + 1;
	}
	return 0;
}
