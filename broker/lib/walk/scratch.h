/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Scratch memory for a walk's temporary arrays (a tree level's nodes, a
 * batch of reads, an index of files), taken from this thread's blocks in
 * order and given back all at once when the walk is done. A crawl walks
 * the map of every process with a dozen such arrays each: from malloc
 * they cost a tenth of a crawl through memmap.
 *
 * Marks nest: a walk takes a mark, allocates, and releases to its mark,
 * which gives back everything allocated since, its callees' included.
 */
#ifndef KH_WALK_SCRATCH_H
#define KH_WALK_SCRATCH_H

#include <stddef.h>

struct kh_scratch_block;

struct kh_scratch_mark {
	struct kh_scratch_block *block;
	size_t used;
};

struct kh_scratch_mark kh_scratch_mark(void);
void kh_scratch_release(struct kh_scratch_mark mark);

/* size bytes, 16-aligned, uninitialized: NULL when out of memory. */
void *kh_scratch_alloc(size_t size);
/* size bytes, zeroed. */
void *kh_scratch_zalloc(size_t size);
/*
 * p (of old bytes, from kh_scratch_alloc, or NULL) grown to size bytes,
 * its contents kept: in place when p is the latest allocation and its
 * block has room, else copied. NULL when out of memory (p stays).
 */
void *kh_scratch_grow(void *p, size_t old, size_t size);

#endif /* KH_WALK_SCRATCH_H */
