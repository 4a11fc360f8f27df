// SPDX-License-Identifier: GPL-2.0-only
/*
 * broker/keyholed/feed_heap.c: a worker's feeds by due time. Random
 * pushes, removals from anywhere, due times changed in place (a crawl
 * done, a feed cancelled) and pops, checked after every step against
 * the feeds themselves: the top is the earliest due, every feed knows
 * its place, and the heap holds exactly the feeds pushed and not taken.
 */
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "../../../broker/keyholed/feed_heap.c"

#define NR_FEEDS 300
#define STEPS 20000

static struct feed feeds[NR_FEEDS];
static int in_heap[NR_FEEDS];

static void check_heap(const struct feed_heap *h, unsigned int step)
{
	unsigned int i, nr = 0;
	uint64_t earliest = UINT64_MAX;

	for (i = 0; i < NR_FEEDS; i++) {
		if (!in_heap[i])
			continue;
		nr++;
		if (feeds[i].due_ns < earliest)
			earliest = feeds[i].due_ns;
		CHECK(feeds[i].heap_index < h->nr &&
		      h->at[feeds[i].heap_index] == &feeds[i],
		      "step %u: feed %u lost its place", step, i);
	}
	CHECK(nr == h->nr, "step %u: %u feeds pushed, heap holds %u", step,
	      nr, h->nr);
	for (i = 1; i < h->nr; i++)
		CHECK(h->at[(i - 1) / 2]->due_ns <= h->at[i]->due_ns,
		      "step %u: place %u is due before its parent", step, i);
	CHECK(!nr || feed_heap_top(h)->due_ns == earliest,
	      "step %u: the top is not the earliest due", step);
	CHECK(nr || !feed_heap_top(h), "step %u: an empty heap has a top",
	      step);
}

int main(void)
{
	struct feed_heap h = { 0 };
	unsigned int step, i;
	struct feed *top;

	srandom(1);
	for (step = 0; step < STEPS; step++) {
		i = random() % NR_FEEDS;
		switch (random() % 4) {
		case 0:		/* a subscription starts a feed */
			if (in_heap[i])
				break;
			CHECK(!feed_heap_reserve(&h, 1), "no room");
			/* Few distinct times: equal deadlines are common. */
			feeds[i].due_ns = random() % 64;
			feed_heap_push(&h, &feeds[i]);
			in_heap[i] = 1;
			break;
		case 1:		/* its VM moves to another worker */
			if (!in_heap[i])
				break;
			feed_heap_remove(&h, &feeds[i]);
			in_heap[i] = 0;
			break;
		case 2:		/* crawled (later) or cancelled (due now) */
			if (!in_heap[i])
				break;
			feeds[i].due_ns = random() % 2 ? 0 :
					  feeds[i].due_ns + random() % 64;
			feed_heap_fix(&h, &feeds[i]);
			break;
		case 3:		/* the worker drops the earliest */
			top = feed_heap_top(&h);
			if (!top)
				break;
			feed_heap_remove(&h, top);
			in_heap[top - feeds] = 0;
			break;
		}
		check_heap(&h, step);
	}
	while ((top = feed_heap_top(&h))) {
		feed_heap_remove(&h, top);
		in_heap[top - feeds] = 0;
		check_heap(&h, step++);
	}
	feed_heap_release(&h);
	return KH_PASS;
}
