// SPDX-License-Identifier: GPL-2.0-only
/*
 * keyhole ifconfig: the network interfaces of the guest's initial network
 * namespace with their flags, MTU, hardware address and IPv4 and IPv6
 * addresses.
 */
#include "keyhole.h"
#include "render.h"

int cmd_ifconfig(const struct options *opts, int argc, char **argv)
{
	struct kh_query_result res;
	const char *spec;
	int ret;

	spec = only_vm_argument(opts, argc, argv, &ret);
	if (!spec)
		return ret;
	if (run_query(opts, spec, "ifconfig", json_object(), &res))
		return 1;
	return show_result(opts, &res, render_ifconfig);
}
