// SPDX-License-Identifier: GPL-2.0-only
/*
 * keyhole techniques: every access technique with its class in the
 * taxonomy of Suneja et al. (VEE 2015), its properties, and whether it
 * can work on this VM, and if not, why and what would enable it.
 */
#include "keyhole.h"
#include "render.h"

int cmd_techniques(const struct options *opts, int argc, char **argv)
{
	struct kh_query_result res;
	const char *spec;
	int ret;

	spec = only_vm_argument(opts, argc, argv, &ret);
	if (!spec)
		return ret;
	if (run_query(opts, spec, "techniques", json_object(), &res))
		return 1;
	return show_result(opts, &res, render_techniques);
}
