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

static json_t *hex(uint64_t value)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "0x%" PRIx64, value);
	return json_string(buf);
}

static json_t *info_json(const struct kh_vm_info *info)
{
	json_t *ranges = json_array();
	unsigned int i;

	for (i = 0; i < info->nr_ranges; i++)
		json_array_append_new(ranges, json_pack("{s:o, s:I, s:o}",
			"gpa", hex(info->ranges[i].gpa),
			"size", (json_int_t)info->ranges[i].size,
			"hva", hex(info->ranges[i].hva)));
	return json_pack("{s:i, s:s, s:s, s:s, s:o, s:s, s:s, s:o, s:o, s:o, s:o, s:i, s:b, s:f}",
			 "pid", (int)info->pid, "name", info->name,
			 "technique", info->technique,
			 "layout_source", info->layout_source,
			 "ram", ranges,
			 "kernel_release", info->kernel_release,
			 "kernel_banner", info->kernel_banner,
			 "kernel_phys", hex(info->kernel_phys),
			 "kernel_virt", hex(info->kernel_virt),
			 "kaslr_slide", hex(info->kaslr_slide),
			 "page_offset_base", hex(info->page_offset_base),
			 "paging_levels", (int)info->paging_levels,
			 "profile_cached", info->profile_from_cache,
			 "attach_ms", info->attach_ms);
}

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
		print_json(info_json(&info));
	else
		info_text(&info);
	detach(ctx, vm);
	return 0;
}
