/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A bounded, read-only walk of a Linux maple tree (lib/maple_tree.c, the
 * VMA index of every mm since 6.1), written as a pure function over a node
 * reader so that it can be tested on synthetic trees in fake memory.
 *
 * The encoding is the kernel's (6.1, include/linux/maple_tree.h): a node
 * pointer ("enode") carries its node type in bits 3-6 and the node is
 * 256-byte aligned; ma_root is such a pointer with bit 1 set, or a plain
 * entry (the whole tree is one entry at index 0), or NULL. The layouts of
 * the nodes come from the guest's BTF, not from this header.
 */
#ifndef KH_MAPLE_H
#define KH_MAPLE_H

#include <stdint.h>

#include "libkeyhole.h"

/* enum maple_type: stable since the maple tree was merged (6.1). */
#define KH_MAPLE_DENSE		0
#define KH_MAPLE_LEAF_64	1
#define KH_MAPLE_RANGE_64	2
#define KH_MAPLE_ARANGE_64	3

#define KH_MAPLE_NODE_MASK	255ULL	/* MAPLE_NODE_MASK */
#define KH_MAPLE_TYPE_SHIFT	3	/* MAPLE_NODE_TYPE_SHIFT */
#define KH_MAPLE_TYPE_MASK	0x0f	/* MAPLE_NODE_TYPE_MASK */
#define KH_MAPLE_ROOT_NODE	0x02	/* MAPLE_ROOT_NODE: bit of ma_root */
#define KH_MAPLE_ENODE_NULL	0x04	/* MAPLE_ENODE_NULL: set in an enode */
#define KH_MAPLE_ROOT_PARENT	0x01	/* MA_ROOT_PARENT: root's parent bit */
#define KH_MAPLE_HEIGHT_MAX	31	/* MAPLE_HEIGHT_MAX */

/* Offsets from the start of a struct maple_node, and slot counts. */
struct kh_maple_layout {
	uint32_t node_size;	/* sizeof(struct maple_node): bytes per read */
	uint32_t parent;	/* maple_node.parent */
	uint32_t r64_pivot;	/* maple_range_64 (and maple_leaf_64) */
	uint32_t r64_slot;
	uint32_t r64_meta;	/* maple_metadata, over the last slot */
	uint32_t r64_slots;	/* MAPLE_RANGE64_SLOTS; pivots: one fewer */
	uint32_t a64_pivot;	/* maple_arange_64 */
	uint32_t a64_slot;
	uint32_t a64_meta;
	uint32_t a64_slots;	/* MAPLE_ARANGE64_SLOTS */
};

/*
 * Reads nr nodes (each element's result says whether it could be read);
 * returns how many failed or -errno when nothing can be read any more.
 */
typedef int (*kh_maple_read_fn)(void *opaque, struct kh_read *reads,
				unsigned int nr, struct kh_err *err);
/*
 * One non-NULL leaf entry for the indices first..last, in index order.
 * Returns 0 to go on, 1 to stop, -errno to fail the walk.
 */
typedef int (*kh_maple_entry_fn)(void *opaque, uint64_t entry,
				 uint64_t first, uint64_t last);

struct kh_maple_walk {
	const struct kh_maple_layout *layout;
	uint64_t tree;		/* address of the struct maple_tree, or 0 */
	uint64_t root;		/* its ma_root, as read */
	uint64_t min_addr;	/* no node may lie below (kernel space) */
	unsigned int max_nodes;	/* nodes read at most */
	unsigned int max_depth;	/* levels at most, root being level 1 */
	kh_maple_read_fn read;
	kh_maple_entry_fn entry;
	void *opaque;
};

/*
 * Reads the tree one level per batch and hands its leaf entries to
 * walk->entry in index order. Bad data (an unreadable or misplaced node,
 * a cycle, pivots out of order, an unknown node type, a tree too deep or
 * too big) stops that branch and marks result incomplete; a node freed or
 * re-parented under the walk marks it inconsistent (the caller may walk
 * again). Returns 0 then too; -errno only for fatal errors.
 */
int kh_maple_walk(const struct kh_maple_walk *walk, struct kh_result *result,
		  struct kh_err *err);

#endif
