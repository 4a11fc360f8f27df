// SPDX-License-Identifier: GPL-2.0-only
/*
 * keyhole mem: the guest's memory use with /proc/meminfo's meanings,
 * computed from the guest kernel's counters as its /proc/meminfo does.
 */
#include "keyhole.h"
#include "render.h"

int cmd_mem(const struct options *opts, int argc, char **argv)
{
	struct kh_query_result res;
	const char *spec;
	int ret;

	spec = only_vm_argument(opts, argc, argv, &ret);
	if (!spec)
		return ret;
	if (run_query(opts, spec, "mem", json_object(), &res))
		return 1;
	return show_result(opts, &res, render_mem);
}
