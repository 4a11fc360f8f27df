// SPDX-License-Identifier: GPL-2.0-only
/*
 * keyhole info: the guest OS as uname(2), /proc/uptime and /proc/loadavg
 * show it, and its CPUs, read from the guest kernel's own variables.
 */
#include <stdio.h>

#include "keyhole.h"

struct shown {
	char sysname[65], nodename[65], release[65], version[65];
	char machine[65], domainname[65];
};

static void make_printable(const struct kh_os_info *info, struct shown *s)
{
	kh_printable(info->sysname, sizeof(s->sysname), s->sysname);
	kh_printable(info->nodename, sizeof(s->nodename), s->nodename);
	kh_printable(info->release, sizeof(s->release), s->release);
	kh_printable(info->version, sizeof(s->version), s->version);
	kh_printable(info->machine, sizeof(s->machine), s->machine);
	kh_printable(info->domainname, sizeof(s->domainname), s->domainname);
}

static void print_text(const struct kh_os_info *info)
{
	struct shown s;

	make_printable(info, &s);
	printf("sysname       %s\n", s.sysname);
	printf("nodename      %s\n", s.nodename);
	printf("release       %s\n", s.release);
	printf("version       %s\n", s.version);
	printf("machine       %s\n", s.machine);
	printf("domainname    %s\n", s.domainname);
	printf("uptime        %.2f s\n", info->uptime);
	printf("cpus online   %u\n", info->cpus_online);
	printf("cpus possible %u\n", info->cpus_possible);
	printf("loadavg       %.2f %.2f %.2f\n", info->loadavg[0],
	       info->loadavg[1], info->loadavg[2]);
}

int cmd_info(const struct options *opts, int argc, char **argv)
{
	struct kh_err err = { 0 };
	struct kh_os_info info;
	struct kh_ctx *ctx;
	struct kh_vm *vm;
	const char *spec;
	int ret;

	spec = only_vm_argument(opts, argc, argv, &ret);
	if (!spec)
		return ret;
	if (attach(opts, spec, &ctx, &vm))
		return 1;
	ret = kh_os_info(vm, &info, &err);
	detach(ctx, vm);
	if (ret)
		return report_error(opts, "%s", err.msg);
	if (opts->json)
		print_json(kh_json_os_info(&info));
	else
		print_text(&info);
	return result_status(info.result.flags, info.result.problem);
}
