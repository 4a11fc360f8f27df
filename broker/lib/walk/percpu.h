/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * walk/percpu.c: where each possible CPU's copy of a per-CPU variable is,
 * as for_each_possible_cpu() and per_cpu_ptr() find it.
 */
#ifndef KH_WALK_PERCPU_H
#define KH_WALK_PERCPU_H

#include <stdint.h>

#include "walk/toolkit.h"

#define KH_CPUS_MAX	8192	/* NR_CPUS of the largest distribution kernels */

struct kh_percpu {
	unsigned int nr;	/* possible CPUs */
	uint64_t *offsets;	/* __per_cpu_offset of each; free() it */
};

/*
 * The guest's possible CPUs and their per-CPU offsets: a per-CPU pointer
 * p of CPU i is p + offsets[i]. -errno with err set when they cannot be
 * read or make no sense.
 */
int kh_percpu_read(struct kh_vm *vm, struct kh_percpu *pcpu,
		   struct kh_err *err);

#endif /* KH_WALK_PERCPU_H */
