// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A guest xarray's entries (kh_xarray_collect): depth first, a node's 64
 * slots in one read. See xarray.h.
 */
#include <errno.h>
#include <stdlib.h>

#include "walk/xarray.h"

#define XA_CHUNK_SLOTS 64
/* 64-bit indexes, 6 bits a level: 11 levels at most. */
#define XA_MAX_DEPTH 12
/* xa_is_node(): internal entries (low bits 10) above 4096 are nodes. */
#define XA_INTERNAL_MASK 3
#define XA_INTERNAL 2
#define XA_NODE_MIN 4096

enum { NODE_SLOTS, NODE_SIZEOF, NR_FIELDS };

static const struct kh_field fields[NR_FIELDS] = {
	[NODE_SLOTS] = { "xa_node", "slots" },
	[NODE_SIZEOF] = { "xa_node", NULL },
};

struct xa_walk {
	struct kh_vm *vm;
	const uint32_t *off;
	struct kh_addr_set nodes;
	unsigned int max_nodes, max;
	struct kh_addr_list *entries;
	int *bad;
};

static int add_entry(struct xa_walk *w, uint64_t entry)
{
	struct kh_addr_list *l = w->entries;

	if (!kh_kernel_ptr_aligned(w->vm, entry, 8) || l->nr >= w->max) {
		*w->bad = 1;
		return 0;
	}
	if (l->nr == l->cap) {
		unsigned int cap = l->cap ? l->cap * 2 : 64;
		uint64_t *n = realloc(l->addrs, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		l->addrs = n;
		l->cap = cap;
	}
	l->addrs[l->nr++] = entry;
	return 0;
}

static int walk_node(struct xa_walk *w, uint64_t entry, unsigned int depth)
{
	uint64_t slots[XA_CHUNK_SLOTS], node;
	unsigned int i;
	int ret;

	if ((entry & XA_INTERNAL_MASK) != XA_INTERNAL)
		return entry ? add_entry(w, entry) : 0;
	if (entry < XA_NODE_MIN)
		return 0;	/* a sibling, retry or zero entry */
	node = entry - XA_INTERNAL;
	if (depth >= XA_MAX_DEPTH || !kh_kernel_ptr_aligned(w->vm, node, 8) ||
	    w->nodes.nr >= w->max_nodes) {
		*w->bad = 1;
		return 0;
	}
	ret = kh_addr_set_add(&w->nodes, node);
	if (ret <= 0) {
		*w->bad = 1;	/* a cycle (or no memory: ret < 0) */
		return ret;
	}
	ret = kh_kva_fetch_one(w->vm, node + w->off[NODE_SLOTS], slots,
			       sizeof(slots), NULL);
	if (ret == -ESRCH)
		return ret;
	if (ret) {
		*w->bad = 1;
		return 0;
	}
	for (i = 0; i < XA_CHUNK_SLOTS; i++) {
		ret = walk_node(w, slots[i], depth + 1);
		if (ret)
			return ret;
	}
	return 0;
}

int kh_xarray_collect(struct kh_vm *vm, uint64_t head, unsigned int max,
		      struct kh_addr_list *entries, int *bad)
{
	struct xa_walk w = { .vm = vm, .max = max, .entries = entries,
			     .bad = bad };
	int ret;

	ret = kh_offsets(vm, fields, NR_FIELDS, &w.off, NULL);
	if (ret)
		return ret;
	/* Every entry needs at most a node per level, plus the top. */
	w.max_nodes = kh_max_objects(vm, w.off[NODE_SIZEOF]);
	if ((uint64_t)max * XA_MAX_DEPTH + 64 < w.max_nodes)
		w.max_nodes = (unsigned int)max * XA_MAX_DEPTH + 64;
	ret = walk_node(&w, head, 0);
	kh_addr_set_free(&w.nodes);
	return ret;
}
