// SPDX-License-Identifier: GPL-2.0-only
/*
 * The commands that show one view of a VM and take nothing but the VM:
 * each sends the query of its own name and prints the document as JSON
 * or as its render_*() makes it text.
 *
 * - vm: what keyhole learnt while attaching: the QEMU process, the guest
 *   RAM layout and where it came from, the access technique, and the
 *   guest kernel's identity and placement (KASLR, paging levels).
 * - info: the guest OS as uname(2), /proc/uptime and /proc/loadavg show
 *   it, and its CPUs, read from the guest kernel's own variables.
 * - mem: the guest's memory use with /proc/meminfo's meanings, computed
 *   from the guest kernel's counters as its /proc/meminfo does.
 * - lsmod: the loaded kernel modules, in the order and with the sizes,
 *   use counts and states of the guest's /proc/modules.
 * - dmesg: the kernel log from the guest's printk ring buffer, oldest
 *   record first, as dmesg prints it.
 * - mounts: every mount namespace's mounts, as /proc/PID/mounts lists
 *   them (device, mount point, type, the generic options).
 * - ebpf: the loaded eBPF programs and maps, as bpftool lists them.
 * - ifconfig: the interfaces of the guest's initial network namespace
 *   with their flags, MTU, hardware address and IPv4 and IPv6 addresses.
 * - techniques: every access technique with its class in the taxonomy
 *   of Suneja et al. (VEE 2015), its properties, and whether it can work
 *   on this VM, and if not, why and what would enable it.
 * (ss and netstat, the sockets, take options: cmd_ss.c.)
 *
 * kallsyms takes -m TEXT, the names to keep (every symbol without).
 *
 * And those that take -p PID for one process (every process without):
 * - lsof: the open files, as the guest's /proc/PID/fd shows them.
 * - envars: the environment, as the guest's /proc/PID/environ has it.
 * - creds: the credentials, as /proc/PID/status's Uid:, Gid:, Cap*:.
 * - bash: the command history of each running bash (-p: of that
 *   process, whatever its name), as its `history` lists it.
 * - elfs: the ELF objects mapped (libs: without the executables).
 */
#include <stdint.h>

#include "keyhole.h"

int cmd_view(const struct options *opts, const struct subcommand *cmd,
	     const struct cmd_args *args)
{
	struct kh_query_result res;
	int ret = expect_args(opts, cmd, args, 1, "one VM");

	if (ret)
		return ret;
	if (run_query(opts, args->pos[0], cmd->name, json_object(), &res))
		return 1;
	return show_result(opts, &res, cmd->render);
}

const struct cmd_option pid_view_options[] = {
	OPTION("pid", 'p', "PID", "only this process (as the guest numbers it)"),
	{ .name = NULL },
};

int cmd_pid_view(const struct options *opts, const struct subcommand *cmd,
		 const struct cmd_args *args)
{
	struct kh_query_result res;
	unsigned long pid = 0;
	unsigned int i;
	json_t *q;
	int ret;

	for (i = 0; i < args->nr_opts; i++) {
		ret = parse_uint(opts, cmd, "--pid", args->opt[i].value, 1,
				 INT32_MAX, &pid);
		if (ret)
			return ret;
	}
	ret = expect_args(opts, cmd, args, 1, "one VM");
	if (ret)
		return ret;
	/* Without a pid: every process. */
	q = pid ? json_pack("{s:i}", "pid", (int)pid) : json_object();
	if (run_query(opts, args->pos[0], cmd->name, q, &res))
		return 1;
	return show_result(opts, &res, cmd->render);
}

const struct cmd_option kallsyms_options[] = {
	OPTION("match", 'm', "TEXT", "only the symbols whose names contain TEXT"),
	{ .name = NULL },
};

int cmd_kallsyms(const struct options *opts, const struct subcommand *cmd,
		 const struct cmd_args *args)
{
	struct kh_query_result res;
	const char *match = NULL;
	unsigned int i;
	json_t *q;
	int ret;

	for (i = 0; i < args->nr_opts; i++)
		match = args->opt[i].value;
	/* The query checks it too (the daemon must), but as exit 1. */
	for (i = 0; match && match[i]; i++)
		if (match[i] < 0x20 || match[i] >= 0x7f || i >= 127)
			return usage_error(opts, cmd,
					   "--match: 1 to 127 bytes of printable ASCII");
	if (match && !match[0])
		return usage_error(opts, cmd,
				   "--match: 1 to 127 bytes of printable ASCII");
	ret = expect_args(opts, cmd, args, 1, "one VM");
	if (ret)
		return ret;
	q = match ? json_pack("{s:s}", "match", match) : json_object();
	if (run_query(opts, args->pos[0], cmd->name, q, &res))
		return 1;
	return show_result(opts, &res, cmd->render);
}
