/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * x86-64 page-table walks (4-level and 5-level, with 1 GiB and 2 MiB
 * pages) over guest-physical memory the caller reads.
 */
#ifndef KH_PGTABLE_H
#define KH_PGTABLE_H

#include <stdint.h>

#include "err.h"

/* Reads the 8-byte entry at guest-physical address gpa. */
typedef int (*kh_pte_read_fn)(void *opaque, uint64_t gpa, uint64_t *entry);

struct kh_xlate {
	uint64_t gpa;		/* translation of the walked address */
	uint64_t page_size;	/* 4 KiB, 2 MiB or 1 GiB */
	int writable;
	int user;
	int nx;
};

/*
 * Translates va through the tables rooted at root (a CR3-style physical
 * address; low 12 bits and flag bits are ignored). levels is 4 or 5.
 * Returns 0, -EFAULT when va is not mapped, -EINVAL for a non-canonical va
 * or bad arguments, or the reader's error.
 */
int kh_pgtable_walk(kh_pte_read_fn read, void *opaque, uint64_t root,
		    unsigned int levels, uint64_t va, struct kh_xlate *out);

/*
 * The same walk a step at a time, so that many walks can go level by
 * level together, each level's entries read in one batch: start, then
 * read the entry at kh_pgwalk_entry() and give it to kh_pgwalk_step(),
 * which returns 1 while there is another level to read, 0 with out set,
 * or -EFAULT. Exactly one step per level, as above.
 */
struct kh_pgwalk {
	uint64_t va, table;
	unsigned int level;
	int writable, user, nx;
};

int kh_pgwalk_start(struct kh_pgwalk *w, uint64_t root, unsigned int levels,
		    uint64_t va);
uint64_t kh_pgwalk_entry(const struct kh_pgwalk *w);
int kh_pgwalk_step(struct kh_pgwalk *w, uint64_t e, struct kh_xlate *out);

/*
 * After kh_pgwalk_step() gave -EFAULT for entry e: 0 with out set when e
 * is a leaf that is not present only to the MMU, _PAGE_PROTNONE (what
 * mprotect(PROT_NONE) and NUMA balancing's hinting faults leave: the
 * page is in RAM, and the kernel's pte_present() says so), else -EFAULT.
 * Only user mappings have such entries; out->user is the levels above.
 * The frame is read inverted, as the kernel stores it in any entry that
 * is not present since the L1TF fix (4.19).
 */
int kh_pgwalk_protnone(const struct kh_pgwalk *w, uint64_t e,
		       struct kh_xlate *out);

#endif
