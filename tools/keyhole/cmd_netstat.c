// SPDX-License-Identifier: GPL-2.0-only
/*
 * keyhole netstat: the guest's TCP, UDP and unix sockets that processes
 * hold open, with their addresses, state, inode and owning processes.
 */
#include "keyhole.h"
#include "render.h"

int cmd_netstat(const struct options *opts, int argc, char **argv)
{
	struct kh_query_result res;
	const char *spec;
	int ret;

	spec = only_vm_argument(opts, argc, argv, &ret);
	if (!spec)
		return ret;
	if (run_query(opts, spec, "netstat", json_object(), &res))
		return 1;
	return show_result(opts, &res, render_netstat);
}
