// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * x86-64 page-table walks over guest-physical memory.
 *
 * The tables are the guest's and so untrusted, but the walk cannot run
 * away: it takes exactly one step per paging level, so a table pointing
 * back at itself only ever yields a (wrong) translation or a fault.
 */
#include <errno.h>

#include "kernel/pgtable.h"

#define PTE_PRESENT	(1ULL << 0)
#define PTE_RW		(1ULL << 1)
#define PTE_USER	(1ULL << 2)
#define PTE_PS		(1ULL << 7)
#define PTE_NX		(1ULL << 63)

/* Physical address bits 51:12 of a table or 4 KiB page entry; large pages
 * drop the low bits that belong to the offset (bit 12 is their PAT bit). */
#define ADDR_MASK	0x000ffffffffff000ULL
#define ADDR_MASK_2M	0x000fffffffe00000ULL
#define ADDR_MASK_1G	0x000fffffc0000000ULL

static int canonical(uint64_t va, unsigned int levels)
{
	unsigned int bits = levels == 5 ? 57 : 48;
	int64_t sext = (int64_t)(va << (64 - bits)) >> (64 - bits);

	return (uint64_t)sext == va;
}

int kh_pgwalk_start(struct kh_pgwalk *w, uint64_t root, unsigned int levels,
		    uint64_t va)
{
	if (levels != 4 && levels != 5)
		return -EINVAL;
	if (!canonical(va, levels))
		return -EINVAL;
	w->va = va;
	w->table = root & ADDR_MASK;
	w->level = levels;	/* 5: PML5, 4: PML4, 3: PDPT, 2: PD, 1: PT */
	w->writable = 1;
	w->user = 1;
	w->nx = 0;
	return 0;
}

uint64_t kh_pgwalk_entry(const struct kh_pgwalk *w)
{
	return w->table + ((w->va >> (12 + 9 * (w->level - 1))) & 511) * 8;
}

int kh_pgwalk_step(struct kh_pgwalk *w, uint64_t e, struct kh_xlate *out)
{
	unsigned int level = w->level, shift = 12 + 9 * (level - 1);

	if (!(e & PTE_PRESENT))
		return -EFAULT;
	/* Access rights are the most restrictive along the walk. */
	w->writable &= !!(e & PTE_RW);
	w->user &= !!(e & PTE_USER);
	w->nx |= !!(e & PTE_NX);

	if (level == 1 || ((level == 2 || level == 3) && (e & PTE_PS))) {
		uint64_t mask = level == 3 ? ADDR_MASK_1G :
				level == 2 ? ADDR_MASK_2M : ADDR_MASK;
		uint64_t size = 1ULL << shift;

		out->gpa = (e & mask) | (w->va & (size - 1));
		out->page_size = size;
		out->writable = w->writable;
		out->user = w->user;
		out->nx = w->nx;
		return 0;
	}
	/*
	 * PS is reserved in PML4/PML5 entries: a guest that sets it has
	 * corrupt tables, and the CPU would fault.
	 */
	if (e & PTE_PS)
		return -EFAULT;
	w->table = e & ADDR_MASK;
	w->level--;
	return 1;
}

#define PTE_PROTNONE	(1ULL << 8)	/* _PAGE_GLOBAL when present */

int kh_pgwalk_protnone(const struct kh_pgwalk *w, uint64_t e,
		       struct kh_xlate *out)
{
	unsigned int level = w->level;

	/* x86 keeps bit 8 clear in swap entries for exactly this test. */
	if ((e & PTE_PRESENT) || !(e & PTE_PROTNONE) ||
	    !(level == 1 || (level == 2 && (e & PTE_PS))))
		return -EFAULT;
	out->page_size = level == 1 ? 1ULL << 12 : 1ULL << 21;
	/* Since the L1TF fix, a non-present entry holds its frame inverted. */
	out->gpa = (~e & (level == 1 ? ADDR_MASK : ADDR_MASK_2M)) |
		   (w->va & (out->page_size - 1));
	out->writable = 0;
	out->user = w->user;
	out->nx = w->nx;
	return 0;
}

int kh_pgtable_walk(kh_pte_read_fn read, void *opaque, uint64_t root,
		    unsigned int levels, uint64_t va, struct kh_xlate *out)
{
	struct kh_pgwalk w;
	uint64_t e;
	int ret;

	if (!read || !out)
		return -EINVAL;
	ret = kh_pgwalk_start(&w, root, levels, va);
	if (ret)
		return ret;
	do {
		ret = read(opaque, kh_pgwalk_entry(&w), &e);
		if (ret)
			return ret < 0 ? ret : -EIO;
		ret = kh_pgwalk_step(&w, e, out);
	} while (ret > 0);
	return ret;
}
