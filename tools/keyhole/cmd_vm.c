// SPDX-License-Identifier: GPL-2.0-only
/*
 * keyhole vm: what keyhole learnt while attaching: the QEMU process, the
 * guest RAM layout and where it came from, the access technique, and the
 * guest kernel's identity and placement (KASLR, paging levels).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "keyhole.h"

static void info_text(const struct kh_vm_info *info)
{
	unsigned int i;

	printf("pid              %d\n", (int)info->pid);
	printf("name             %s\n", info->name);
	printf("technique        %s\n", info->technique);
	printf("layout source    %s\n", info->layout_source);
	for (i = 0; i < info->nr_ranges; i++)
		printf("ram              gpa 0x%09" PRIx64 "-0x%09" PRIx64
		       " at hva 0x%" PRIx64 "\n", info->ranges[i].gpa,
		       info->ranges[i].gpa + info->ranges[i].size - 1,
		       info->ranges[i].hva);
	printf("kernel           %s\n", info->kernel_release);
	printf("kernel phys      0x%" PRIx64 "\n", info->kernel_phys);
	printf("kernel virt      0x%" PRIx64 " (KASLR slide 0x%" PRIx64 ")\n",
	       info->kernel_virt, info->kaslr_slide);
	printf("page_offset_base 0x%" PRIx64 "\n", info->page_offset_base);
	printf("paging levels    %u\n", info->paging_levels);
	printf("profile          %s\n", info->profile_from_cache ?
	       "from cache" : "built from guest RAM");
	printf("attach time      %.1f ms\n", info->attach_ms);
}

int cmd_vm(const struct options *opts, int argc, char **argv)
{
	struct kh_vm_info info;
	struct kh_ctx *ctx;
	struct kh_vm *vm;

	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		subcommand_usage(&subcommands[1], stdout);
		return 0;
	}
	if (argc != 2)
		return report_error(opts, "vm: expected one VM (a QEMU pid, QMP socket path or -name)");
	if (attach(opts, argv[1], &ctx, &vm))
		return 1;
	kh_vm_get_info(vm, &info);
	if (opts->json)
		print_json(kh_json_vm_info(&info));
	else
		info_text(&info);
	detach(ctx, vm);
	return 0;
}
