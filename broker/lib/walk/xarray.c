// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A guest xarray's entries (kh_xarray_collect): level by level, every
 * node of a level in one batch, so that a technique whose reads are
 * system calls pays a call per level, not one per node (a pid IDR whose
 * pids have wrapped spreads a hundred pids over as many leaves). Each
 * entry's index comes from its node's shift and slot, and the entries
 * are sorted by it at the end. See xarray.h.
 */
#include <errno.h>
#include <stdlib.h>

#include "walk/xarray.h"

#define XA_CHUNK_SHIFT 6
#define XA_CHUNK_SLOTS 64
/* 64-bit indexes, 6 bits a level: 11 levels at most. */
#define XA_MAX_DEPTH 12
#define XA_MAX_SHIFT ((XA_MAX_DEPTH - 2) * XA_CHUNK_SHIFT)
/* xa_is_node(): internal entries (low bits 10) above 4096 are nodes. */
#define XA_INTERNAL_MASK 3
#define XA_INTERNAL 2
#define XA_NODE_MIN 4096
/* Nodes read in one batch: bounds the buffers, not the walk. */
#define BATCH 1024

enum { NODE_SHIFT, NODE_SLOTS, NODE_SIZEOF, NR_FIELDS };

static const struct kh_field fields[NR_FIELDS] = {
	[NODE_SHIFT] = { "xa_node", "shift" },
	[NODE_SLOTS] = { "xa_node", "slots" },
	[NODE_SIZEOF] = { "xa_node", NULL },
};

/* A node to read: where it is, the first index under it, its shift. */
struct xa_pending {
	uint64_t node, base;
	unsigned int shift;	/* what its parent says it must be */
	int top;		/* the head's node: any shift goes */
};

struct xa_entry {
	uint64_t index, addr;
};

struct xa_level {
	struct xa_pending *node;
	unsigned int nr, cap;
};

struct xa_walk {
	struct kh_vm *vm;
	const uint32_t *off;
	struct kh_addr_set nodes;
	unsigned int max_nodes, max, nr_entries, cap_entries;
	struct xa_entry *entries;
	int *bad;
};

static int add_entry(struct xa_walk *w, uint64_t index, uint64_t entry)
{
	if (!kh_kernel_ptr_aligned(w->vm, entry, 8) || w->nr_entries >= w->max) {
		*w->bad = 1;
		return 0;
	}
	if (w->nr_entries == w->cap_entries) {
		unsigned int cap = w->cap_entries ? w->cap_entries * 2 : 64;
		struct xa_entry *n = realloc(w->entries, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		w->entries = n;
		w->cap_entries = cap;
	}
	w->entries[w->nr_entries++] = (struct xa_entry){ index, entry };
	return 0;
}

/*
 * Queues the node an internal entry names on level next, after the
 * checks a hostile tree must pass: aligned kernel address, within the
 * bound on nodes, never seen before (a cycle).
 */
static int add_node(struct xa_walk *w, struct xa_level *next,
		    struct xa_pending p)
{
	int ret;

	if (!kh_kernel_ptr_aligned(w->vm, p.node, 8) ||
	    w->nodes.nr >= w->max_nodes) {
		*w->bad = 1;
		return 0;
	}
	ret = kh_addr_set_add(&w->nodes, p.node);
	if (ret <= 0) {
		*w->bad = 1;	/* a cycle (or no memory: ret < 0) */
		return ret;
	}
	if (next->nr == next->cap) {
		unsigned int cap = next->cap ? next->cap * 2 : 64;
		struct xa_pending *n = realloc(next->node, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		next->node = n;
		next->cap = cap;
	}
	next->node[next->nr++] = p;
	return 0;
}

/* One slot of a node read at p with the given shift. */
static int add_slot(struct xa_walk *w, struct xa_level *next,
		    const struct xa_pending *p, uint8_t shift,
		    unsigned int slot, uint64_t entry)
{
	uint64_t index = p->base + ((uint64_t)slot << shift);

	if ((entry & XA_INTERNAL_MASK) != XA_INTERNAL)
		return entry ? add_entry(w, index, entry) : 0;
	if (entry < XA_NODE_MIN)
		return 0;	/* a sibling, retry or zero entry */
	if (!shift) {
		*w->bad = 1;	/* a node below the last level */
		return 0;
	}
	return add_node(w, next, (struct xa_pending){
		.node = entry - XA_INTERNAL, .base = index,
		.shift = shift - XA_CHUNK_SHIFT });
}

/* Reads nodes[0..nr) of one level in one batch; their children go on next. */
static int read_batch(struct xa_walk *w, const struct xa_pending *nodes,
		      unsigned int nr, struct xa_level *next)
{
	struct kh_read *reads = malloc(sizeof(*reads) * nr * 2);
	uint64_t (*slots)[XA_CHUNK_SLOTS] = malloc(sizeof(*slots) * nr);
	uint8_t *shift = malloc(nr);
	unsigned int i, s;
	int ret = -ENOMEM;

	if (!reads || !slots || !shift)
		goto out;
	for (i = 0; i < nr; i++) {
		reads[2 * i] = (struct kh_read){
			.addr = nodes[i].node + w->off[NODE_SHIFT],
			.buf = &shift[i], .len = 1 };
		reads[2 * i + 1] = (struct kh_read){
			.addr = nodes[i].node + w->off[NODE_SLOTS],
			.buf = slots[i], .len = sizeof(slots[i]) };
	}
	ret = kh_kva_fetch(w->vm, reads, nr * 2, NULL);
	if (ret == -ESRCH || ret == -ENOMEM)
		goto out;
	if (ret < 0) {
		/* Nothing of this batch (a budget spent, say): skip it. */
		*w->bad = 1;
		ret = 0;
		goto out;
	}
	ret = 0;
	for (i = 0; i < nr && !ret; i++) {
		if (reads[2 * i].result || reads[2 * i + 1].result ||
		    shift[i] % XA_CHUNK_SHIFT || shift[i] > XA_MAX_SHIFT ||
		    (!nodes[i].top && shift[i] != nodes[i].shift)) {
			*w->bad = 1;
			continue;
		}
		for (s = 0; s < XA_CHUNK_SLOTS && !ret; s++)
			ret = add_slot(w, next, &nodes[i], shift[i], s,
				       slots[i][s]);
	}
out:
	free(reads);
	free(slots);
	free(shift);
	return ret;
}

static int by_index(const void *a, const void *b)
{
	const struct xa_entry *x = a, *y = b;

	return (x->index > y->index) - (x->index < y->index);
}

static int walk(struct xa_walk *w, uint64_t head)
{
	struct xa_level level = { 0 }, next = { 0 }, swap;
	unsigned int depth, i, n;
	int ret = 0;

	if ((head & XA_INTERNAL_MASK) != XA_INTERNAL)
		return head ? add_entry(w, 0, head) : 0;
	if (head < XA_NODE_MIN)
		return 0;
	ret = add_node(w, &level, (struct xa_pending){
		.node = head - XA_INTERNAL, .top = 1 });
	for (depth = 0; !ret && level.nr; depth++) {
		if (depth >= XA_MAX_DEPTH) {
			*w->bad = 1;
			break;
		}
		next.nr = 0;
		for (i = 0; i < level.nr && !ret; i += n) {
			n = level.nr - i < BATCH ? level.nr - i : BATCH;
			ret = read_batch(w, level.node + i, n, &next);
		}
		swap = level;
		level = next;
		next = swap;
	}
	free(level.node);
	free(next.node);
	return ret;
}

int kh_xarray_collect(struct kh_vm *vm, uint64_t head, unsigned int max,
		      struct kh_addr_list *entries, int *bad)
{
	struct xa_walk w = { .vm = vm, .max = max, .bad = bad };
	unsigned int i;
	int ret;

	ret = kh_offsets(vm, fields, NR_FIELDS, &w.off, NULL);
	if (ret)
		return ret;
	/* Every entry needs at most a node per level, plus the top. */
	w.max_nodes = kh_max_objects(vm, w.off[NODE_SIZEOF]);
	if ((uint64_t)max * XA_MAX_DEPTH + 64 < w.max_nodes)
		w.max_nodes = (unsigned int)max * XA_MAX_DEPTH + 64;
	ret = walk(&w, head);
	if (!ret && w.nr_entries) {
		uint64_t *addrs = realloc(entries->addrs, sizeof(*addrs) *
					  ((size_t)entries->nr + w.nr_entries));

		if (addrs) {
			entries->addrs = addrs;
			entries->cap = entries->nr + w.nr_entries;
			qsort(w.entries, w.nr_entries, sizeof(*w.entries),
			      by_index);
			for (i = 0; i < w.nr_entries; i++)
				entries->addrs[entries->nr++] =
					w.entries[i].addr;
		} else {
			ret = -ENOMEM;
		}
	}
	kh_addr_set_free(&w.nodes);
	free(w.entries);
	return ret;
}
