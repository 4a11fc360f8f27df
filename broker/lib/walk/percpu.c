// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The guest's possible CPUs (__cpu_possible_mask, below nr_cpu_ids) and
 * each one's offset into the per-CPU areas (__per_cpu_offset[cpu]): what
 * per_cpu_ptr() adds to a __percpu pointer. A CPU that is not possible
 * has no area (its offset is the boot template's), so it is skipped, as
 * for_each_possible_cpu() skips it. Three reads.
 */
#include <errno.h>
#include <stdlib.h>

#include "walk/percpu.h"

int kh_percpu_read(struct kh_vm *vm, struct kh_percpu *pcpu,
		   struct kh_err *err)
{
	uint64_t nr_va, mask_va, offset_va, mask[KH_CPUS_MAX / 64];
	uint64_t *all = NULL;
	uint32_t nr_ids;
	unsigned int cpu;
	int ret;

	*pcpu = (struct kh_percpu){ 0 };
	ret = kh_sym_va(vm, "nr_cpu_ids", &nr_va, err);
	if (!ret)
		ret = kh_sym_va(vm, "__cpu_possible_mask", &mask_va, err);
	if (!ret)
		ret = kh_sym_va(vm, "__per_cpu_offset", &offset_va, err);
	if (!ret)
		ret = kh_kva_fetch_one(vm, nr_va, &nr_ids, 4, err);
	if (ret)
		return ret;
	if (!nr_ids || nr_ids > KH_CPUS_MAX)
		return kh_err_set(err, EINVAL,
				  "the guest's nr_cpu_ids is %u, not 1 to %u",
				  nr_ids, KH_CPUS_MAX);
	all = calloc(nr_ids, sizeof(*all));
	pcpu->offsets = calloc(nr_ids, sizeof(*pcpu->offsets));
	if (!all || !pcpu->offsets) {
		ret = kh_err_set(err, ENOMEM, "out of memory for %u CPUs",
				 nr_ids);
		goto out;
	}
	ret = kh_kva_fetch_one(vm, mask_va, mask, (nr_ids + 63) / 64 * 8,
			       err);
	if (!ret)
		ret = kh_kva_fetch_one(vm, offset_va, all, nr_ids * 8, err);
	if (ret)
		goto out;
	for (cpu = 0; cpu < nr_ids; cpu++)
		if (mask[cpu / 64] >> (cpu % 64) & 1)
			pcpu->offsets[pcpu->nr++] = all[cpu];
	if (!pcpu->nr)
		ret = kh_err_set(err, EINVAL,
				 "the guest's __cpu_possible_mask is empty");
out:
	free(all);
	if (ret) {
		free(pcpu->offsets);
		*pcpu = (struct kh_percpu){ 0 };
	}
	return ret;
}
