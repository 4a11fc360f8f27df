// SPDX-License-Identifier: GPL-2.0-only
/*
 * keyhole info: the guest OS as uname(2), /proc/uptime and /proc/loadavg
 * show it, and its CPUs, read from the guest kernel's own variables.
 */
#include "keyhole.h"
#include "render.h"

int cmd_info(const struct options *opts, int argc, char **argv)
{
	struct kh_query_result res;
	const char *spec;
	int ret;

	spec = only_vm_argument(opts, argc, argv, &ret);
	if (!spec)
		return ret;
	if (run_query(opts, spec, "info", json_object(), &res))
		return 1;
	return show_result(opts, &res, render_info);
}
