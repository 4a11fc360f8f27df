// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The bounded walk of a maple tree (maple_tree.h): level by level, each
 * node read in one batch per level, every node checked against the range
 * its parent gave it and against the node that must be its parent, the
 * number of nodes and entries bounded.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "walk/maple_tree.h"
#include "walk/scratch.h"
#include "walk/toolkit.h"

struct pending {
	uint64_t node;		/* node address (enode bits removed) */
	uint64_t min, max;	/* indices the node covers */
	uint64_t parent;	/* address its parent field must name */
	unsigned int type;
};

struct level {
	struct pending *nodes;
	unsigned int nr, cap;
};

static int level_add(struct level *lvl, const struct pending *p)
{
	if (lvl->nr == lvl->cap) {
		unsigned int cap = lvl->cap ? lvl->cap * 2 : 16;
		struct pending *nodes = kh_scratch_grow(lvl->nodes,
							sizeof(*nodes) * lvl->cap,
							sizeof(*nodes) * cap);

		if (!nodes)
			return -ENOMEM;
		lvl->nodes = nodes;
		lvl->cap = cap;
	}
	lvl->nodes[lvl->nr++] = *p;
	return 0;
}

static int is_leaf(unsigned int type)
{
	return type < KH_MAPLE_RANGE_64;
}

/*
 * The last slot in use, as ma_data_end() finds it: an arange node keeps
 * it in its metadata; a range node is full when its last pivot is the
 * node's max or beyond, and keeps it in the metadata (over the last slot)
 * when that pivot is 0. -1 for metadata that names no slot.
 */
static int data_end(const struct kh_maple_layout *l, const uint8_t *node,
		    unsigned int type, uint64_t max, unsigned int *slots)
{
	unsigned int end;
	uint64_t last;

	if (type == KH_MAPLE_ARANGE_64) {
		*slots = l->a64_slots;
		end = node[l->a64_meta];
	} else {
		*slots = l->r64_slots;
		last = kh_load_u64(node, l->r64_pivot + (*slots - 2) * 8);
		if (last == max)
			return *slots - 2;
		if (last)
			return *slots - 1;
		end = node[l->r64_meta];
	}
	return end < *slots ? (int)end : -1;
}

struct walker {
	const struct kh_maple_walk *w;
	struct kh_result *result;
	struct kh_addr_set seen;
	unsigned int nr_nodes;
	unsigned int leaf_depth;	/* 0 until the first leaf */
};

/* Queues child (an enode read from a slot) for the next level. */
static int queue_child(struct walker *wk, struct level *next,
		       uint64_t enode, uint64_t min, uint64_t max,
		       uint64_t parent)
{
	struct pending child = {
		.node = enode & ~KH_MAPLE_NODE_MASK,
		.min = min, .max = max, .parent = parent,
		.type = (enode >> KH_MAPLE_TYPE_SHIFT) & KH_MAPLE_TYPE_MASK,
	};
	int ret;

	if (!enode || child.node < wk->w->min_addr)
		return kh_mark(wk->result, KH_RESULT_INCOMPLETE,
			       "maple %s 0x%" PRIx64 " holds child 0x%" PRIx64
			       ", not a node", parent ? "node" : "tree",
			       parent ? parent : wk->w->tree, enode);
	if (wk->nr_nodes >= wk->w->max_nodes)
		return kh_mark(wk->result, KH_RESULT_INCOMPLETE,
			       "maple tree at 0x%" PRIx64 " has more than %u nodes",
			       wk->w->tree, wk->w->max_nodes);
	ret = kh_addr_set_add(&wk->seen, child.node);
	if (ret < 0)
		return ret;
	if (!ret)
		return kh_mark(wk->result, KH_RESULT_INCOMPLETE,
			       "maple tree cycle: node 0x%" PRIx64 " seen twice",
			       child.node);
	wk->nr_nodes++;
	return level_add(next, &child);
}

/*
 * One node's slots, ranges as mas_logical_pivot() computes them: a zero
 * pivot past the first slot, or a slot with no pivot, means the node's
 * max. Pivots must rise strictly and stay inside the node's range.
 */
static int walk_slots(struct walker *wk, const struct pending *p,
		      const uint8_t *node, struct level *next)
{
	const struct kh_maple_layout *l = wk->w->layout;
	int arange = p->type == KH_MAPLE_ARANGE_64;
	uint32_t pivot_off = arange ? l->a64_pivot : l->r64_pivot;
	uint32_t slot_off = arange ? l->a64_slot : l->r64_slot;
	unsigned int slots, i;
	uint64_t lo = p->min;
	int end, ret;

	end = data_end(l, node, p->type, p->max, &slots);
	if (end < 0)
		return kh_mark(wk->result, KH_RESULT_INCOMPLETE,
			       "maple node 0x%" PRIx64 ": metadata names no slot",
			       p->node);
	for (i = 0; i <= (unsigned int)end; i++) {
		uint64_t piv = p->max;
		uint64_t slot = kh_load_u64(node, slot_off + i * 8);

		if (i < slots - 1)
			piv = kh_load_u64(node, pivot_off + i * 8);
		if (!piv && i)
			piv = p->max;
		if (piv < lo || piv > p->max)
			return kh_mark(wk->result, KH_RESULT_INCOMPLETE,
				       "maple node 0x%" PRIx64 ": pivot %u (0x%"
				       PRIx64 ") outside 0x%" PRIx64 "-0x%"
				       PRIx64, p->node, i, piv, lo, p->max);
		if (is_leaf(p->type)) {
			ret = slot ? wk->w->entry(wk->w->opaque, slot, lo, piv)
				   : 0;
		} else {
			ret = queue_child(wk, next, slot, lo, piv, p->node);
		}
		if (ret)
			return ret;
		if (piv == p->max)
			break;
		lo = piv + 1;
	}
	return 0;
}

/* Checks a node just read and walks its slots. */
static int walk_node(struct walker *wk, const struct pending *p,
		     const uint8_t *node, unsigned int depth,
		     struct level *next)
{
	const struct kh_maple_walk *w = wk->w;
	uint64_t parent = kh_load_u64(node, w->layout->parent);

	/* ma_dead_node(): a node the tree dropped points at itself. */
	if ((parent & ~KH_MAPLE_NODE_MASK) == p->node)
		return kh_mark(wk->result, KH_RESULT_INCONSISTENT,
			       "maple node 0x%" PRIx64 " was freed during the walk",
			       p->node);
	if (p->parent ? (parent & ~KH_MAPLE_NODE_MASK) != p->parent :
			w->tree && parent != (w->tree | KH_MAPLE_ROOT_PARENT))
		kh_mark(wk->result, KH_RESULT_INCONSISTENT,
			"maple node 0x%" PRIx64 ": parent 0x%" PRIx64
			" does not point back; the tree changed during the walk",
			p->node, parent);
	if (p->type > KH_MAPLE_ARANGE_64 || p->type == KH_MAPLE_DENSE)
		return kh_mark(wk->result, KH_RESULT_INCOMPLETE,
			       "maple node 0x%" PRIx64 " has type %u, not a range node",
			       p->node, p->type);
	/* Every leaf of a maple tree is at the same depth. */
	if (is_leaf(p->type) && !wk->leaf_depth)
		wk->leaf_depth = depth;
	if (wk->leaf_depth && (depth != wk->leaf_depth || !is_leaf(p->type)))
		return kh_mark(wk->result, KH_RESULT_INCOMPLETE,
			       "maple node 0x%" PRIx64 " at level %u: leaves are at level %u",
			       p->node, depth, wk->leaf_depth);
	if (!is_leaf(p->type) && depth >= w->max_depth)
		return kh_mark(wk->result, KH_RESULT_INCOMPLETE,
			       "maple tree at 0x%" PRIx64 " is deeper than %u levels",
			       w->tree, w->max_depth);
	return walk_slots(wk, p, node, next);
}

static int walk_level(struct walker *wk, const struct level *cur,
		      unsigned int depth, struct level *next,
		      struct kh_err *err)
{
	const struct kh_maple_walk *w = wk->w;
	uint32_t size = w->layout->node_size;
	struct kh_read *reads;
	uint8_t *nodes;
	unsigned int i;
	int ret;

	reads = kh_scratch_alloc(sizeof(*reads) * cur->nr);
	nodes = kh_scratch_alloc((size_t)cur->nr * size);
	if (!reads || !nodes)
		return -ENOMEM;
	for (i = 0; i < cur->nr; i++)
		reads[i] = (struct kh_read){ .addr = cur->nodes[i].node,
					     .buf = nodes + (size_t)i * size,
					     .len = size };
	ret = w->read(w->opaque, reads, cur->nr, err);
	if (ret < 0)
		return ret;
	for (i = 0, ret = 0; i < cur->nr && !ret; i++) {
		if (reads[i].result) {
			kh_mark(wk->result, KH_RESULT_INCOMPLETE,
				"maple node 0x%" PRIx64 " cannot be read",
				cur->nodes[i].node);
			continue;
		}
		ret = walk_node(wk, &cur->nodes[i], nodes + (size_t)i * size,
				depth, next);
	}
	return ret;
}

int kh_maple_walk(const struct kh_maple_walk *w, struct kh_result *result,
		  struct kh_err *err)
{
	struct walker wk = { .w = w, .result = result,
			     .seen = KH_ADDR_SET_SCRATCH };
	struct level cur = { 0 }, next = { 0 }, swap;
	struct kh_scratch_mark mark;
	uint64_t root = w->root;
	unsigned int depth;
	int ret;

	if (!root)
		return 0;
	/* xa_is_node(): otherwise the tree is one entry, at index 0. */
	if ((root & 3) != KH_MAPLE_ROOT_NODE || root <= 4096) {
		ret = w->entry(w->opaque, root, 0, 0);
		return ret < 0 ? ret : 0;
	}
	/* Levels, reads, nodes and seen: all of the walk's own memory. */
	mark = kh_scratch_mark();
	ret = queue_child(&wk, &cur, root & ~(uint64_t)KH_MAPLE_ROOT_NODE, 0,
			  UINT64_MAX, 0);
	for (depth = 1; !ret && cur.nr; depth++) {
		next.nr = 0;
		ret = walk_level(&wk, &cur, depth, &next, err);
		swap = cur;
		cur = next;
		next = swap;
	}
	kh_scratch_release(mark);
	if (ret == -ENOMEM)
		return kh_err_set(err, ENOMEM, "out of memory walking a maple tree");
	return ret < 0 ? ret : 0;
}

/* ---- the process's map -------------------------------------------------- */
