// SPDX-License-Identifier: GPL-2.0-only
/*
 * keyhole mem: the guest's memory use with /proc/meminfo's meanings,
 * computed from the guest kernel's counters as its /proc/meminfo does.
 */
#include <inttypes.h>
#include <stdio.h>

#include "keyhole.h"

static void print_text(const struct kh_mem_info *mem)
{
	printf("MemTotal:       %8" PRIu64 " kB\n", mem->total);
	printf("MemFree:        %8" PRIu64 " kB\n", mem->free);
	printf("MemAvailable:   %8" PRIu64 " kB\n", mem->available);
	printf("Buffers:        %8" PRIu64 " kB\n", mem->buffers);
	printf("Cached:         %8" PRIu64 " kB\n", mem->cached);
	printf("Shmem:          %8" PRIu64 " kB\n", mem->shmem);
}

int cmd_mem(const struct options *opts, int argc, char **argv)
{
	struct kh_err err = { 0 };
	struct kh_mem_info mem;
	struct kh_ctx *ctx;
	struct kh_vm *vm;
	const char *spec;
	int ret;

	spec = only_vm_argument(opts, argc, argv, &ret);
	if (!spec)
		return ret;
	if (attach(opts, spec, &ctx, &vm))
		return 1;
	ret = kh_mem_info(vm, &mem, &err);
	detach(ctx, vm);
	if (ret)
		return report_error(opts, "%s", err.msg);
	if (opts->json)
		print_json(kh_json_mem_info(&mem));
	else
		print_text(&mem);
	return result_status(mem.result.flags, mem.result.problem);
}
