/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Where one boot of a guest kernel sits: its physical and virtual base
 * (KASLR), its page tables and the bases of its direct map and vmalloc
 * area. Found from guest RAM alone; the profile is found or built on the
 * way (see kernel/locate.c).
 */
#ifndef KH_KERNEL_H
#define KH_KERNEL_H

#include <stdint.h>

#define KH_KERNEL_LINK_VA 0xffffffff81000000ULL	/* x86-64 __START_KERNEL */

struct kh_kernel {
	uint64_t phys;			/* guest-physical address of _text */
	uint64_t text_va;		/* runtime virtual address of _text */
	uint64_t image_size;		/* _end - _text */
	uint64_t pgd;			/* guest-physical init_top_pgt */
	unsigned int levels;		/* paging levels: 4 or 5 */
	uint64_t page_offset_base;	/* direct map */
	uint64_t vmalloc_base;
	uint64_t vmemmap_base;
	uint64_t direct_map_size;	/* bytes of RAM the direct map covers */
};

#endif
