// SPDX-License-Identifier: GPL-2.0-only
/*
 * A worker's feeds by deadline: a binary min-heap on due_ns, so that the
 * worker finds its next crawl in O(1) and puts a feed back in O(log n).
 * With 500 VMs a worker, a scan of every feed before each crawl touched
 * 500 feeds for one. Each feed knows its place (heap_index), so that a
 * feed can be taken out from anywhere (a cancelled one, a moved VM's).
 * Under the worker's lock, as every use of the feeds.
 */
#include <errno.h>
#include <stdlib.h>

#include "keyholed.h"

/*
 * Whether a falls due before b. Crawls put off behind an attach share
 * one due time (workers.c): among them, the one due first before.
 */
static bool before(const struct feed *a, const struct feed *b)
{
	if (a->due_ns != b->due_ns)
		return a->due_ns < b->due_ns;
	return (a->asked_ns ?: a->due_ns) < (b->asked_ns ?: b->due_ns);
}

static void place(struct feed_heap *h, unsigned int i, struct feed *f)
{
	h->at[i] = f;
	f->heap_index = i;
}

static void sift_up(struct feed_heap *h, unsigned int i)
{
	struct feed *f = h->at[i];

	while (i) {
		unsigned int parent = (i - 1) / 2;

		if (!before(f, h->at[parent]))
			break;
		place(h, i, h->at[parent]);
		i = parent;
	}
	place(h, i, f);
}

static void sift_down(struct feed_heap *h, unsigned int i)
{
	struct feed *f = h->at[i];

	for (;;) {
		unsigned int child = 2 * i + 1;

		if (child >= h->nr)
			break;
		if (child + 1 < h->nr &&
		    before(h->at[child + 1], h->at[child]))
			child++;
		if (!before(h->at[child], f))
			break;
		place(h, i, h->at[child]);
		i = child;
	}
	place(h, i, f);
}

int feed_heap_reserve(struct feed_heap *h, unsigned int more)
{
	unsigned int cap = h->cap ? h->cap : 16;
	struct feed **at;

	if (h->nr + more <= h->cap)
		return 0;
	while (cap < h->nr + more)
		cap *= 2;
	at = realloc(h->at, cap * sizeof(*at));
	if (!at)
		return -ENOMEM;
	h->at = at;
	h->cap = cap;
	return 0;
}

void feed_heap_push(struct feed_heap *h, struct feed *f)
{
	/* The caller reserved the room. */
	place(h, h->nr++, f);
	sift_up(h, f->heap_index);
}

struct feed *feed_heap_top(const struct feed_heap *h)
{
	return h->nr ? h->at[0] : NULL;
}

void feed_heap_remove(struct feed_heap *h, struct feed *f)
{
	unsigned int i = f->heap_index;
	struct feed *last = h->at[--h->nr];

	if (last == f)
		return;
	place(h, i, last);
	feed_heap_fix(h, last);
}

void feed_heap_fix(struct feed_heap *h, struct feed *f)
{
	unsigned int i = f->heap_index;

	if (i && h->at[(i - 1) / 2]->due_ns > f->due_ns)
		sift_up(h, i);
	else
		sift_down(h, i);
}

void feed_heap_release(struct feed_heap *h)
{
	free(h->at);
	*h = (struct feed_heap){ 0 };
}
