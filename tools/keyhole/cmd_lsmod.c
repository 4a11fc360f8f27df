// SPDX-License-Identifier: GPL-2.0-only
/*
 * keyhole lsmod: the guest's loaded kernel modules, in the order and with
 * the sizes, use counts and states of its /proc/modules.
 */
#include "keyhole.h"
#include "render.h"

int cmd_lsmod(const struct options *opts, int argc, char **argv)
{
	struct kh_query_result res;
	const char *spec;
	int ret;

	spec = only_vm_argument(opts, argc, argv, &ret);
	if (!spec)
		return ret;
	if (run_query(opts, spec, "lsmod", json_object(), &res))
		return 1;
	return show_result(opts, &res, render_lsmod);
}
