/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Guest RAM layout: which guest-physical ranges are RAM and where each sits
 * in the QEMU process's address space. Learnt from QMP when QEMU has a
 * socket (exact), else from the memory backend in /proc/PID/maps. Never
 * from a "largest mapping" guess.
 */
#ifndef KH_LAYOUT_H
#define KH_LAYOUT_H

#include "libkeyhole.h"
#include "qemu/qmp.h"
#include "qemu/process.h"

#define KH_LAYOUT_MAX_RANGES 32

struct kh_layout {
	unsigned int nr;	/* ranges, sorted by gpa, non-overlapping */
	struct kh_ram_range range[KH_LAYOUT_MAX_RANGES];
	const char *source;	/* "qmp" or "maps" */
};

int kh_layout_from_qmp(struct kh_qmp *qmp, struct kh_layout *layout,
		       struct kh_err *err);
int kh_layout_from_maps(const struct kh_target *t, struct kh_layout *layout,
			struct kh_err *err);

/* The range holding gpa, or NULL. */
const struct kh_ram_range *kh_layout_find(const struct kh_layout *layout,
					  uint64_t gpa);

/* Bytes of guest RAM in the layout. */
uint64_t kh_layout_ram_size(const struct kh_layout *layout);

#endif
